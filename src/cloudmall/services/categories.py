"""The categories staff manage: add one (Korean and English name), rename it, delete it empty."""

from __future__ import annotations

import re

from cloudmall.domain.errors import CategoryExists, CategoryNotEmpty, InvalidInput, NotFound
from cloudmall.domain.products import Category
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import UnitOfWorkFactory

MAX_NAME = 100
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def _name(field: str, value: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput(f"{field} must not be empty", field=field, reason="missing")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"{field} must be at most {MAX_NAME} characters", field=field, reason="too_long"
        )
    return name


def slug_of(name_en: str) -> str:
    """The slug a product refers to: the English name in lower-case words joined by hyphens."""
    slug = _NOT_SLUG.sub("-", name_en.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise InvalidInput(
            "name_en needs a letter or digit (a-z, 0-9)", field="name_en", reason="no_latin"
        )
    return slug


async def add_category(
    *, uow: UnitOfWorkFactory, cache: CatalogCache, name: str, name_en: str
) -> Category:
    name, name_en = _name("name", name), _name("name_en", name_en)
    slug = slug_of(name_en)
    async with uow(write=True) as tx:
        if await tx.categories.by_slug(slug) is not None:
            raise CategoryExists(f"a category {slug!r} exists already")
        category = await tx.categories.add(slug, name, name_en)
        await tx.commit()
    await cache.invalidate()
    return category


async def rename_category(
    *, uow: UnitOfWorkFactory, cache: CatalogCache, category_id: int, name: str, name_en: str
) -> Category:
    """New names; the slug (what products and links refer to) stays."""
    name, name_en = _name("name", name), _name("name_en", name_en)
    async with uow(write=True) as tx:
        category = await tx.categories.rename(category_id, name, name_en)
        if category is None:
            raise NotFound(f"Category {category_id} does not exist")
        await tx.commit()
    await cache.invalidate()
    return category


async def delete_category(*, uow: UnitOfWorkFactory, cache: CatalogCache, category_id: int) -> None:
    async with uow(write=True) as tx:
        category = await tx.categories.get(category_id)
        if category is None:
            raise NotFound(f"Category {category_id} does not exist")
        if category.products or not await tx.categories.delete(category_id):
            raise CategoryNotEmpty(f"category {category.slug!r} still has products on sale")
        await tx.commit()
    await cache.invalidate()
