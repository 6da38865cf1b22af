"""Services wired to in-memory fakes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudmall.domain.products import Category, Product
from cloudmall.services import catalog
from cloudmall.services.catalog_cache import CatalogCache
from tests.unit.fakes import FakeCache, FakeMetrics, FakeStore


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def metrics() -> FakeMetrics:
    return FakeMetrics()


@pytest.fixture
def catalog_cache(cache: FakeCache, metrics: FakeMetrics) -> CatalogCache:
    return CatalogCache(cache, ttl_seconds=300, metrics=metrics)


@pytest.fixture
def add_product(store: FakeStore, catalog_cache: CatalogCache):  # type: ignore[no-untyped-def]
    async def add(
        stock: int = 10, price: str = "1000.00", name: str = "Mug", category: str = "kitchen"
    ) -> Product:
        known = {c.slug for c in store.data.categories.values()}
        if category not in known:  # staff would have added it first
            store.data.categories[-len(known)] = Category(-len(known), category, category, category)
        return await catalog.create_product(
            uow=store,
            cache=catalog_cache,
            name=name,
            price=Decimal(price),
            category=category,
            stock_quantity=stock,
        )

    return add
