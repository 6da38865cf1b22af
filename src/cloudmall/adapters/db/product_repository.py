"""Products over one AsyncConnection: rows in, Product out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Update, bindparam, case, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.rows import cents, check_failed
from cloudmall.adapters.db.tables import (
    categories,
    products,
    utcnow,
)
from cloudmall.domain.products import Product
from cloudmall.services.ports import (
    NO_LIST_PRICE,
    NewProduct,
    ProductChanges,
    ProductQuery,
    RetryableConflict,
)

_SORTS = {
    "id": (products.c.id,),
    "price": (products.c.price, products.c.id),
    "-price": (products.c.price.desc(), products.c.id),
    "name": (products.c.name, products.c.id),
    "newest": (products.c.created_at.desc(), products.c.id.desc()),
}


def _category_name(column: Any) -> Any:
    """The product's category's name as a column: a scalar subquery, not a join, so a locking
    read (FOR UPDATE) locks the product rows only."""
    return (
        select(column)
        .where(categories.c.slug == products.c.category)
        .scalar_subquery()
        .label(f"category_{column.name}")
    )


_PRODUCTS = select(
    products, _category_name(categories.c.name), _category_name(categories.c.name_en)
)

# Statements on the order path are built once: SQLAlchemy then reuses their compiled form
# without rebuilding the expression or its cache key on every request.
_PRODUCT_BY_ID = _PRODUCTS.where(
    products.c.id == bindparam("product_id"), products.c.is_active.is_(True)
)
_PRODUCTS_BY_IDS = _PRODUCTS.where(products.c.id.in_(bindparam("ids", expanding=True))).order_by(
    products.c.id
)
_PRODUCTS_BY_IDS_LOCKED = _PRODUCTS_BY_IDS.with_for_update()
# No "enough left" condition: the rows are locked and already checked; should a count still
# fall below zero, the stock_not_negative constraint refuses it.


@lru_cache(maxsize=64)
def _take_locked_stock(count: int) -> Update:
    """One UPDATE for `count` products (`CASE id WHEN :p0 THEN :u0 …`): an executemany UPDATE is
    one round trip per product on MariaDB's driver, made while the group's rows are locked. Built
    once per count, with parameters: a group sends its numbers, not a statement to build, key for
    the cache and bind anew (`_take_parameters`)."""
    ids = [bindparam(f"p{i}", type_=products.c.id.type) for i in range(count)]
    units = case(
        {ids[i]: bindparam(f"u{i}", type_=products.c.stock_quantity.type) for i in range(count)},
        value=products.c.id,
    )
    return (
        update(products)
        .where(products.c.id.in_(ids))
        .values(stock_quantity=products.c.stock_quantity - units)
    )


def _take_parameters(taken: Mapping[int, int]) -> dict[str, int]:
    """`_take_locked_stock`'s parameters: the products in id order, each with its units."""
    parameters = {}
    for i, product_id in enumerate(sorted(taken)):
        parameters[f"p{i}"] = product_id
        parameters[f"u{i}"] = taken[product_id]
    return parameters


_RETURN_STOCK = (
    update(products)
    .where(products.c.id == bindparam("product_id"))
    .values(stock_quantity=products.c.stock_quantity + bindparam("quantity"))
)
# One INSERT for many orders, their ids back in the order the rows were sent (RETURNING on


def _product(row: Row[Any]) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        price=cents(row.price),
        description=row.description,
        category=row.category,
        stock_quantity=row.stock_quantity,
        image_key=row.image_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        name_en=row.name_en,
        description_en=row.description_en,
        list_price=None if row.list_price is None else cents(row.list_price),
        category_name=row.category_name,
        category_name_en=row.category_name_en,
    )


def _columns(changes: ProductChanges) -> dict[str, object]:
    """The changed columns: an empty English text, or a list price of 0, is stored as NULL."""
    values = changes.given()
    for field in ("name_en", "description_en"):
        if values.get(field) == "":
            values[field] = None
    if values.get("list_price") == NO_LIST_PRICE:
        values["list_price"] = None
    return values


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _filtered(self, statement: Select[Any], query: ProductQuery) -> Select[Any]:
        statement = statement.where(products.c.is_active.is_(True))
        if query.category:
            statement = statement.where(products.c.category == query.category)
        if query.search:
            pattern = f"%{_escape_like(query.search.lower())}%"
            statement = statement.where(
                or_(
                    func.lower(products.c.name).like(pattern, escape="\\"),
                    func.lower(products.c.description).like(pattern, escape="\\"),
                    func.lower(products.c.name_en).like(pattern, escape="\\"),
                )
            )
        return statement

    async def get(self, product_id: int) -> Product | None:
        row = (await self._conn.execute(_PRODUCT_BY_ID, {"product_id": product_id})).first()
        return _product(row) if row else None

    async def get_many(
        self, product_ids: Collection[int], *, lock: bool = False
    ) -> dict[int, Product]:
        if not product_ids:
            return {}
        # Locked rows are taken in id order, so concurrent orders never deadlock one another.
        # (SQLite has no row locks: its writers already hold the database lock.)
        statement = _PRODUCTS_BY_IDS_LOCKED if lock else _PRODUCTS_BY_IDS
        rows = await self._conn.execute(statement, {"ids": sorted(product_ids)})
        return {row.id: _product(row) for row in rows if row.is_active}

    async def search(self, query: ProductQuery) -> list[Product]:
        statement = self._filtered(_PRODUCTS, query).order_by(*_SORTS[query.sort])
        statement = statement.limit(query.limit).offset(query.offset)
        return [_product(row) for row in await self._conn.execute(statement)]

    async def count(self, query: ProductQuery) -> int:
        statement = self._filtered(select(func.count()).select_from(products), query)
        return int((await self._conn.execute(statement)).scalar_one())

    async def low_stock(self, threshold: int) -> list[Product]:
        rows = await self._conn.execute(
            _PRODUCTS.where(products.c.is_active.is_(True), products.c.stock_quantity <= threshold)
            .order_by(products.c.stock_quantity, products.c.id)
            .limit(50)
        )
        return [_product(row) for row in rows]

    async def add(self, new: NewProduct) -> Product:
        now = utcnow()
        result = await self._conn.execute(
            products.insert().values(
                name=new.name,
                price=new.price,
                description=new.description,
                category=new.category,
                stock_quantity=new.stock_quantity,
                name_en=new.name_en,
                description_en=new.description_en,
                list_price=new.list_price,
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        product_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        created = await self.get(int(product_id)) if product_id is not None else None
        assert created is not None
        return created

    async def update(self, product_id: int, changes: ProductChanges) -> Product | None:
        result = await self._conn.execute(
            update(products)
            .where(products.c.id == product_id, products.c.is_active.is_(True))
            .values(**_columns(changes), updated_at=utcnow())
        )
        if result.rowcount == 0:
            return None
        return await self.get(product_id)

    async def delete(self, product_id: int) -> bool:
        result = await self._conn.execute(
            update(products)
            .where(products.c.id == product_id, products.c.is_active.is_(True))
            .values(is_active=False, updated_at=utcnow())
        )
        return bool(result.rowcount)

    async def take_locked_stock(self, taken: Mapping[int, int]) -> None:
        try:
            await self._conn.execute(_take_locked_stock(len(taken)), _take_parameters(taken))
        except DBAPIError as exc:
            if not check_failed(exc):
                raise
            raise RetryableConflict("stock changed under a lock") from exc

    async def return_stock(self, product_id: int, quantity: int) -> None:
        await self._conn.execute(_RETURN_STOCK, {"product_id": product_id, "quantity": quantity})

    async def image_keys(self) -> set[str]:
        rows = await self._conn.execute(
            select(products.c.image_key).where(products.c.image_key.is_not(None))
        )
        return {row.image_key for row in rows}
