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
    CatalogPresenter,
    NewProduct,
    ProductChanges,
    ProductQuery,
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


def make_query(
    *, search: str | None, category: str | None, sort: str, limit: int | None, offset: int
) -> ProductQuery:
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of: {', '.join(SORTS)}")
    page = DEFAULT_PAGE if limit is None else limit
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    search = (search or "").strip() or None
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise InvalidInput(f"search text must be at most {MAX_SEARCH_LENGTH} characters")
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
            names = await tx.products.categories()
        return CachedBody.of(present.categories(names))

    return await cache.get_or_build("categories", "all", build)


def _check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "name":
            name = str(value).strip()
            if not 1 <= len(name) <= 255:
                raise InvalidInput("name must be 1 to 255 characters")
            checked[field] = name
        elif field == "price":
            try:
                price = to_money(value)
            except ValueError as exc:
                raise InvalidInput(f"price is not an amount: {value!r}") from exc
            if not Decimal(0) < price <= MAX_PRICE:
                raise InvalidInput(f"price must be more than 0 and at most {MAX_PRICE}")
            checked[field] = price
        elif field == "description":
            description = str(value)
            if len(description) > 10_000:
                raise InvalidInput("description must be at most 10000 characters")
            checked[field] = description
        elif field == "category":
            category = str(value).strip().lower() or DEFAULT_CATEGORY
            if len(category) > 64:
                raise InvalidInput("category must be at most 64 characters")
            checked[field] = category
        elif field == "stock_quantity":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_STOCK:
                raise InvalidInput(f"stock_quantity must be a whole number from 0 to {MAX_STOCK}")
            checked[field] = value
        else:
            raise InvalidInput(f"{field} cannot be changed here")
    return checked


async def create_product(
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    name: str,
    price: object,
    description: str = "",
    category: str = DEFAULT_CATEGORY,
    stock_quantity: int = 0,
) -> Product:
    fields = _check_fields(
        {
            "name": name,
            "price": price,
            "description": description,
            "category": category,
            "stock_quantity": stock_quantity,
        }
    )
    async with uow(write=True) as tx:
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
            product = await tx.products.update(product_id, checked) if before else None
            if before is None or product is None:
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
