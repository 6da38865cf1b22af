"""Categories as items keyed by slug (what a product refers to), an id item pointing at the
slug, and GSI1 `CATEGORIES` listing them by slug. How many products on sale each holds is
counted from the catalogue's index partition (one Query), like the catalogue's own reads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    CATALOG,
    CATEGORIES,
    category_id_key,
    category_key,
    category_partition,
    timestamp,
)
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.errors import CategoryExists
from cloudmall.domain.products import Category
from cloudmall.services.ports import RetryableConflict

_ABSENT = "attribute_not_exists(#PK)"


def _category(item: dict[str, Any], products: int) -> Category:
    return Category(
        id=int(item["id"]),
        slug=item["slug"],
        name=item["name"],
        name_en=item["name_en"],
        products=products,
    )


def _taken() -> Exception:
    return CategoryExists("a category with this slug exists already")


def _changed() -> Exception:
    return RetryableConflict("the category changed meanwhile")


class DynamoCategoryRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def _on_sale(self, slug: str) -> int:
        return len(await self._tx.query(category_partition(slug), index="GSI2", count=True))

    async def list(self) -> list[Category]:
        items = await self._tx.query(CATEGORIES, index="GSI1")
        products = await self._tx.query(CATALOG, index="GSI1")
        counts = Counter(product["category"] for product in products)
        return [_category(item, counts[item["slug"]]) for item in items]

    async def _item(self, category_id: int) -> dict[str, Any] | None:
        pointer = await self._tx.get(category_id_key(category_id))
        return await self._tx.get(category_key(pointer["slug"])) if pointer else None

    async def get(self, category_id: int) -> Category | None:
        item = await self._item(category_id)
        return _category(item, await self._on_sale(item["slug"])) if item else None

    async def by_slug(self, slug: str) -> Category | None:
        item = await self._tx.get(category_key(slug))
        return _category(item, await self._on_sale(slug)) if item else None

    async def add(self, slug: str, name: str, name_en: str) -> Category:
        category_id = await self._tx.next_ids("category")
        key, pointer = category_key(slug), category_id_key(category_id)
        now = timestamp(datetime.now(UTC))
        item = {
            "PK": key[0],
            "SK": key[1],
            "GSI1PK": CATEGORIES,
            "GSI1SK": slug,
            "id": category_id,
            "slug": slug,
            "name": name,
            "name_en": name_en,
            "created_at": now,
            "updated_at": now,
        }
        self._tx.put(item, condition=_ABSENT, refused=_taken)
        self._tx.put(
            {"PK": pointer[0], "SK": pointer[1], "slug": slug}, condition=_ABSENT, refused=_changed
        )
        return _category(item, 0)

    async def rename(self, category_id: int, name: str, name_en: str) -> Category | None:
        item = await self._item(category_id)
        if item is None:
            return None
        names = {"name": name, "name_en": name_en, "updated_at": timestamp(datetime.now(UTC))}
        self._tx.update(
            category_key(item["slug"]),
            set_=names,
            condition="attribute_exists(#PK)",
            after={**item, **names},
            refused=_changed,
        )
        return _category({**item, **names}, await self._on_sale(item["slug"]))

    async def delete(self, category_id: int) -> bool:
        """(The re-check reads the category's index partition: eventually consistent.)"""
        item = await self._item(category_id)
        if item is None or await self._on_sale(item["slug"]):
            return False
        self._tx.delete(
            category_key(item["slug"]), condition="attribute_exists(#PK)", refused=_changed
        )
        self._tx.delete(category_id_key(category_id), refused=_changed)
        return True
