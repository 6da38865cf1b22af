"""Categories over one AsyncConnection: rows in, Category out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import categories, products, utcnow
from cloudmall.domain.products import Category

_ON_SALE = (
    select(func.count())
    .where(products.c.category == categories.c.slug, products.c.is_active.is_(True))
    .scalar_subquery()
)
_WITH_COUNT = select(categories, _ON_SALE.label("on_sale"))


def _category(row: Row[Any]) -> Category:
    return Category(
        id=row.id, slug=row.slug, name=row.name, name_en=row.name_en, products=row.on_sale
    )


class SqlCategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def list(self) -> list[Category]:
        rows = await self._conn.execute(_WITH_COUNT.order_by(categories.c.slug))
        return [_category(row) for row in rows]

    async def get(self, category_id: int) -> Category | None:
        statement = _WITH_COUNT.where(categories.c.id == category_id)
        row = (await self._conn.execute(statement)).first()
        return _category(row) if row else None

    async def by_slug(self, slug: str) -> Category | None:
        row = (await self._conn.execute(_WITH_COUNT.where(categories.c.slug == slug))).first()
        return _category(row) if row else None

    async def add(self, slug: str, name: str, name_en: str) -> Category:
        now = utcnow()
        await self._conn.execute(
            categories.insert().values(
                slug=slug, name=name, name_en=name_en, created_at=now, updated_at=now
            )
        )
        added = await self.by_slug(slug)
        assert added is not None
        return added

    async def rename(self, category_id: int, name: str, name_en: str) -> Category | None:
        result = await self._conn.execute(
            update(categories)
            .where(categories.c.id == category_id)
            .values(name=name, name_en=name_en, updated_at=utcnow())
        )
        return await self.get(category_id) if result.rowcount else None

    async def delete(self, category_id: int) -> bool:
        """Delete a category no product on sale is in (the caller checked; this re-checks)."""
        empty = (
            ~select(products.c.id)
            .where(and_(products.c.category == categories.c.slug, products.c.is_active.is_(True)))
            .exists()
        )
        result = await self._conn.execute(
            delete(categories).where(categories.c.id == category_id, empty)
        )
        return bool(result.rowcount)
