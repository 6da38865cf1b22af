"""Categories staff manage, and the rules a product's category, English texts and sale follow."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudmall.domain.errors import CategoryExists, CategoryNotEmpty, InvalidInput, NotFound
from cloudmall.services import catalog, categories
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import NO_LIST_PRICE, ProductChanges
from tests.unit.fakes import FakeStore

pytestmark = pytest.mark.anyio


async def test_a_category_gets_its_slug_from_the_english_name_and_keeps_it(
    store: FakeStore, catalog_cache: CatalogCache
) -> None:
    made = await categories.add_category(
        uow=store, cache=catalog_cache, name=" 주방 용품 ", name_en="Kitchen & Dining!"
    )
    assert (made.slug, made.name, made.name_en) == (
        "kitchen-dining",
        "주방 용품",
        "Kitchen & Dining!",
    )
    with pytest.raises(CategoryExists):
        await categories.add_category(
            uow=store, cache=catalog_cache, name="또 주방", name_en="kitchen dining"
        )
    renamed = await categories.rename_category(
        uow=store, cache=catalog_cache, category_id=made.id, name="부엌", name_en="Cooking"
    )
    assert (renamed.slug, renamed.name_en) == ("kitchen-dining", "Cooking")
    with pytest.raises(NotFound):
        await categories.rename_category(
            uow=store, cache=catalog_cache, category_id=999, name="x", name_en="x"
        )


@pytest.mark.parametrize(
    ("name", "name_en", "reason"),
    [
        ("", "Books", "missing"),
        ("책", "   ", "missing"),
        ("책", "도서", "no_latin"),
        ("책", "b" * 101, "too_long"),
    ],
)
async def test_names_are_checked_with_a_reason(
    store: FakeStore, catalog_cache: CatalogCache, name: str, name_en: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await categories.add_category(uow=store, cache=catalog_cache, name=name, name_en=name_en)
    assert refused.value.reason == reason


async def test_only_a_category_without_products_on_sale_is_deleted(
    store: FakeStore, catalog_cache: CatalogCache
) -> None:
    books = await categories.add_category(
        uow=store, cache=catalog_cache, name="도서", name_en="Books"
    )
    novel = await catalog.create_product(
        uow=store, cache=catalog_cache, name="소설", price="12000", category="books"
    )
    with pytest.raises(CategoryNotEmpty):
        await categories.delete_category(uow=store, cache=catalog_cache, category_id=books.id)
    await catalog.delete_product(uow=store, cache=catalog_cache, product_id=novel.id)
    await categories.delete_category(uow=store, cache=catalog_cache, category_id=books.id)
    assert store.data.categories == {}


async def test_a_product_needs_a_category_that_exists_but_the_default_is_made(
    store: FakeStore, catalog_cache: CatalogCache
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await catalog.create_product(
            uow=store, cache=catalog_cache, name="컵", price="1000", category="nowhere"
        )
    assert (refused.value.field, refused.value.reason) == ("category", "unknown_category")
    cup = await catalog.create_product(uow=store, cache=catalog_cache, name="컵", price="1000")
    assert (cup.category, cup.category_name, cup.category_name_en) == ("general", "일반", "General")


async def test_english_texts_and_a_sale(store: FakeStore, catalog_cache: CatalogCache) -> None:
    mug = await catalog.create_product(
        uow=store,
        cache=catalog_cache,
        name="머그",
        name_en="  Mug ",
        description_en="",
        price="9000",
        list_price="12000",
    )
    assert (mug.name_en, mug.description_en, mug.list_price, mug.on_sale) == (
        "Mug",
        None,
        Decimal("12000.00"),
        True,
    )
    with pytest.raises(InvalidInput) as refused:  # the sale price may not reach the list price
        await catalog.update_product(
            uow=store,
            cache=catalog_cache,
            product_id=mug.id,
            changes=ProductChanges(price=Decimal(12000)),
        )
    assert refused.value.reason == "not_above_price"
    ended = await catalog.update_product(
        uow=store,
        cache=catalog_cache,
        product_id=mug.id,
        changes=ProductChanges(list_price=NO_LIST_PRICE, name_en=""),
    )
    assert (ended.list_price, ended.on_sale, ended.name_en) == (None, False, None)
    with pytest.raises(InvalidInput):
        await catalog.create_product(
            uow=store, cache=catalog_cache, name="컵", price="5000", list_price="5000"
        )
