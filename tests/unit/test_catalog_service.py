"""Catalogue cache-aside and the staff's edits, against fakes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import orjson
import pytest

from cloudmall.domain.errors import InvalidInput, NotFound
from cloudmall.services import catalog, orders
from cloudmall.services.media_links import MediaLinks
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.ports import ProductChanges
from cloudmall.web.presentation import JsonCatalogPresenter, product_row
from tests.unit.contexts import stock_desk
from tests.unit.fakes import customer

pytestmark = pytest.mark.anyio
LINKS = MediaLinks("https://cdn.example.com")
PRESENT = JsonCatalogPresenter(LINKS)


async def listing(store, catalog_cache, **query):  # type: ignore[no-untyped-def]
    made = catalog.make_query(
        search=query.get("search"),
        category=query.get("category"),
        sort="id",
        limit=query.get("limit"),
        offset=0,
    )
    return await catalog.product_list(uow=store, cache=catalog_cache, present=PRESENT, query=made)


async def test_reads_are_cached_as_ready_bytes_and_counted(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    await add_product(name="Blue mug")
    first = await listing(store, catalog_cache)
    second = await listing(store, catalog_cache)
    assert first == second
    assert [row["name"] for row in orjson.loads(first.body)] == ["Blue mug"]
    assert (metrics.count("miss"), metrics.count("hit")) == (1, 1)


async def test_a_catalogue_write_invalidates_every_cached_answer(
    store, catalog_cache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(name="Mug", price="1000")
    await listing(store, catalog_cache)
    await catalog.product_detail(uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id)
    await catalog.update_product(
        uow=store,
        cache=catalog_cache,
        product_id=mug.id,
        changes=ProductChanges(price=Decimal("1500")),
    )
    rows = orjson.loads((await listing(store, catalog_cache)).body)
    assert rows[0]["price"] == "1500.00"
    detail = orjson.loads(
        (
            await catalog.product_detail(
                uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id
            )
        ).body
    )
    assert detail["price"] == "1500.00"


async def test_selling_out_refreshes_lists_and_a_sale_refreshes_the_product_page(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=2)
    await listing(store, catalog_cache)
    await catalog.product_detail(uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id)
    desk = OrderDesk(
        uow=store,
        stock=stock_desk(store, catalog_cache),
        metrics=metrics,
        limits=orders.OrderLimits(),
    )
    await desk.place(
        principal=customer(), items=[(mug.id, 1)], client_total=None, idempotency_key=None
    )
    detail = orjson.loads(
        (
            await catalog.product_detail(
                uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id
            )
        ).body
    )
    assert detail["stock_quantity"] == 1
    await desk.place(
        principal=customer(), items=[(mug.id, 1)], client_total=None, idempotency_key=None
    )
    rows = orjson.loads((await listing(store, catalog_cache)).body)
    assert rows[0]["stock_quantity"] == 0


async def test_reads_work_with_the_cache_down(
    store, catalog_cache, cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    await add_product(name="Mug")
    cache.down = True
    page = await listing(store, catalog_cache)
    assert orjson.loads(page.body)[0]["name"] == "Mug"
    assert metrics.count("cache_error") >= 1
    await add_product(name="Pen")  # a write with the cache down still succeeds
    cache.down = False
    assert page.total == 1


async def test_search_category_and_paging(store, catalog_cache, add_product) -> None:  # type: ignore[no-untyped-def]
    for index in range(5):
        await add_product(name=f"Mug {index}", category="kitchen")
    await add_product(name="Ball", category="sports")
    page = await listing(store, catalog_cache, category="kitchen", limit=2)
    assert page.total == 5 and len(orjson.loads(page.body)) == 2
    found = await listing(store, catalog_cache, search="BALL")
    assert [row["name"] for row in orjson.loads(found.body)] == ["Ball"]


async def test_product_rows_have_the_guides_columns_and_cdn_links(
    store, catalog_cache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = replace(await add_product(), image_key="images/abc.png")
    row = product_row(mug, LINKS)
    assert {
        "id",
        "name",
        "price",
        "description",
        "image_url",
        "stock_quantity",
        "created_at",
    } <= set(row)
    assert row["image_url"] == "https://cdn.example.com/media/images/abc.png"
    assert row["thumbnail_url"] == "https://cdn.example.com/media/thumbs/abc.webp"


async def test_bad_product_fields_are_refused(store, catalog_cache, add_product) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="price"):
        await catalog.create_product(uow=store, cache=catalog_cache, name="X", price="-1")
    with pytest.raises(InvalidInput, match="name"):
        await catalog.create_product(uow=store, cache=catalog_cache, name="  ", price="1")
    mug = await add_product()
    with pytest.raises(InvalidInput, match="cannot be changed"):
        await catalog.update_product(
            uow=store,
            cache=catalog_cache,
            product_id=mug.id,
            changes=ProductChanges(image_key="images/x.png"),
        )
    await catalog.delete_product(uow=store, cache=catalog_cache, product_id=mug.id)
    with pytest.raises(NotFound):
        await catalog.product_detail(
            uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id
        )
    with pytest.raises(InvalidInput, match="limit"):
        catalog.make_query(search=None, category=None, sort="id", limit=0, offset=0)


async def test_cached_rows_write_timestamps_like_every_other_answer(
    store, catalog_cache, add_product
) -> None:  # type: ignore[no-untyped-def]
    from cloudmall.web.schemas import ProductRow

    mug = await add_product()
    row = product_row(mug, LINKS)
    assert row["created_at"].endswith("Z")
    assert ProductRow.model_validate(row).model_dump(mode="json")["created_at"] == row["created_at"]
