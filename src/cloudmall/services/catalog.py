"""The catalogue: cached reads (as the presenter writes them), and the staff's writes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cloudmall.domain import events
from cloudmall.domain.errors import InvalidInput, NotFound
from cloudmall.domain.money import to_money
from cloudmall.domain.products import Product
from cloudmall.services.catalog_cache import CachedBody, CatalogCache
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import (
    NO_LIST_PRICE,
    CatalogPresenter,
    NewProduct,
    ProductChanges,
    ProductQuery,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id

SORTS = ("id", "price", "-price", "name", "newest")
MAX_PAGE = 500
DEFAULT_PAGE = 100
MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 1_000_000
MAX_SEARCH_LENGTH = 100
DEFAULT_CATEGORY = "general"
DEFAULT_CATEGORY_NAMES = ("일반", "General")  # Korean, English: staff may rename it


def make_query(
    *, search: str | None, category: str | None, sort: str, limit: int | None, offset: int
) -> ProductQuery:
    if sort not in SORTS:
        raise InvalidInput(
            f"sort must be one of: {', '.join(SORTS)}", field="sort", reason="choice"
        )
    page = DEFAULT_PAGE if limit is None else limit
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_PAGE}", field="limit", reason="out_of_range"
        )
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset", reason="out_of_range")
    search = (search or "").strip() or None
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise InvalidInput(
            f"search text must be at most {MAX_SEARCH_LENGTH} characters",
            field="q",
            reason="too_long",
        )
    return ProductQuery(
        search=search,
        category=(category or "").strip() or None,
        sort=sort,
        limit=page,
        offset=offset,
    )


async def product_list(
    *, uow: UnitOfWorkFactory, cache: CatalogCache, present: CatalogPresenter, query: ProductQuery
) -> CachedBody:
    key = f"{query.search}|{query.category}|{query.sort}|{query.limit}|{query.offset}"

    async def build() -> CachedBody:
        async with uow() as tx:
            products = await tx.products.search(query)
            total = await tx.products.count(query)
        return CachedBody.of(present.products(products), total=total)

    return await cache.get_or_build("list", key, build)


async def product_detail(
    *, uow: UnitOfWorkFactory, cache: CatalogCache, present: CatalogPresenter, product_id: int
) -> CachedBody:
    async def build() -> CachedBody:
        async with uow() as tx:
            product = await tx.products.get(product_id)
        if product is None:
            raise NotFound(f"Product {product_id} does not exist")
        return CachedBody.of(present.product(product))

    return await cache.get_or_build("product", str(product_id), build)


async def categories(
    *, uow: UnitOfWorkFactory, cache: CatalogCache, present: CatalogPresenter
) -> CachedBody:
    async def build() -> CachedBody:
        async with uow() as tx:
            found = await tx.categories.list()
        return CachedBody.of(present.categories(found))

    return await cache.get_or_build("categories", "all", build)


def _text(field: str, value: object, *, least: int, most: int) -> str:
    text = str(value).strip()
    if len(text) < least:
        raise InvalidInput(f"{field} must not be empty", field=field, reason="missing")
    if len(text) > most:
        raise InvalidInput(
            f"{field} must be at most {most} characters", field=field, reason="too_long"
        )
    return text


def _amount(field: str, value: object) -> Decimal:
    try:
        amount = to_money(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{field} is not an amount: {value!r}", field=field, reason="not_a_number"
        ) from exc
    if not Decimal(0) < amount <= MAX_PRICE:
        raise InvalidInput(
            f"{field} must be more than 0 and at most {MAX_PRICE}",
            field=field,
            reason="out_of_range",
        )
    return amount


def _check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "name":
            checked[field] = _text(field, value, least=1, most=255)
        elif field == "name_en":
            checked[field] = _text(field, value, least=0, most=255)
        elif field in ("description", "description_en"):
            checked[field] = _text(field, value, least=0, most=10_000)
        elif field == "price":
            checked[field] = _amount(field, value)
        elif field == "list_price":
            ends_sale = to_money_or_none(value) == NO_LIST_PRICE
            checked[field] = NO_LIST_PRICE if ends_sale else _amount(field, value)
        elif field == "category":
            checked[field] = str(value).strip().lower() or DEFAULT_CATEGORY
        elif field == "stock_quantity":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_STOCK:
                raise InvalidInput(
                    f"stock_quantity must be a whole number from 0 to {MAX_STOCK}",
                    field=field,
                    reason="out_of_range",
                )
            checked[field] = value
        else:
            raise InvalidInput(f"{field} cannot be changed here", field=field, reason="read_only")
    return checked


def to_money_or_none(value: object) -> Decimal | None:
    try:
        return to_money(value)
    except ValueError:
        return None


def _check_sale(price: Decimal, list_price: Decimal | None) -> None:
    """A list price, when there is one, is what the product cost before the sale: above it."""
    if list_price is not None and list_price != NO_LIST_PRICE and list_price <= price:
        raise InvalidInput(
            "list_price must be above price", field="list_price", reason="not_above_price"
        )


async def _check_category(tx: UnitOfWork, slug: str | None) -> None:
    """The category must exist; the shop's default one is made when a product first goes in it
    (a new database holds no rows of its own: a backup may be restored into it)."""
    if slug is None or await tx.categories.by_slug(slug) is not None:
        return
    if slug == DEFAULT_CATEGORY:
        await tx.categories.add(DEFAULT_CATEGORY, *DEFAULT_CATEGORY_NAMES)
        return
    raise InvalidInput(f"no category {slug!r}", field="category", reason="unknown_category")


async def create_product(
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    name: str,
    price: object,
    description: str = "",
    category: str = DEFAULT_CATEGORY,
    stock_quantity: int = 0,
    name_en: str | None = None,
    description_en: str | None = None,
    list_price: object = None,
) -> Product:
    given = {"name_en": name_en, "description_en": description_en, "list_price": list_price}
    fields = _check_fields(
        {
            "name": name,
            "price": price,
            "description": description,
            "category": category,
            "stock_quantity": stock_quantity,
            **{field: value for field, value in given.items() if value is not None},
        }
    )
    _check_sale(fields["price"], fields.get("list_price"))
    for field in ("name_en", "description_en"):  # an empty English text is no English text
        fields[field] = fields.get(field) or None
    if fields.get("list_price") == NO_LIST_PRICE:
        fields["list_price"] = None
    async with uow(write=True) as tx:
        await _check_category(tx, fields["category"])
        product = await tx.products.add(NewProduct(**fields))
        await tx.outbox.add([events.product_created(product, request_id=current_request_id.get())])
        await tx.commit()
    await cache.invalidate()
    return product


async def update_product(
    *, uow: UnitOfWorkFactory, cache: CatalogCache, product_id: int, changes: ProductChanges
) -> Product:
    checked = ProductChanges(**_check_fields(changes.given()))

    async def attempt() -> Product:
        async with uow(write=True) as tx:
            # Locked: the values before the change are exact (orders take stock concurrently;
            # where there are no locks, DynamoDB, a count changed meanwhile means another try).
            before = (await tx.products.get_many([product_id], lock=True)).get(product_id)
            if before is None:
                raise NotFound(f"Product {product_id} does not exist")
            await _check_category(tx, checked.category)
            list_price = before.list_price if checked.list_price is None else checked.list_price
            _check_sale(checked.price or before.price, list_price)
            product = await tx.products.update(product_id, checked)
            if product is None:
                raise NotFound(f"Product {product_id} does not exist")
            await tx.outbox.add(_change_events(before, product))
            await tx.commit()
        return product

    product = await with_retries(attempt)
    await cache.invalidate()
    return product


def _change_events(before: Product, after: Product) -> list[events.Event]:
    """The events of a staff edit: a new price, units added or removed by hand."""
    request_id = current_request_id.get()
    changed: list[events.Event] = []
    if after.price != before.price:
        changed.append(events.price_changed(after, before.price, request_id=request_id))
    if (delta := after.stock_quantity - before.stock_quantity) != 0:
        changed.append(
            events.stock_changed(
                after.id,
                delta=delta,
                stock=after.stock_quantity,
                reason="restock",
                request_id=request_id,
            )
        )
    return changed


async def delete_product(*, uow: UnitOfWorkFactory, cache: CatalogCache, product_id: int) -> None:
    """Take a product off sale; past orders keep their lines."""
    async with uow(write=True) as tx:
        if not await tx.products.delete(product_id):
            raise NotFound(f"Product {product_id} does not exist")
        await tx.commit()
    await cache.invalidate()
