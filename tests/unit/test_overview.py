"""The staff's overview: today's orders and revenue, orders waiting to be shipped, low stock
(from the products context, through its StockDesk)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloudmall.domain.errors import PermissionDenied
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.products import Category
from cloudmall.services import catalog
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.overview import overview
from tests.unit import contexts
from tests.unit.fakes import FakeStore, admin, customer

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _order(order_id: int, status: OrderStatus, *, at: datetime = NOW) -> Order:
    return Order(order_id, 1, status, Decimal("22000.00"), (), at, at)


async def test_orders_to_ship_are_the_paid_ones(store: FakeStore, add_product) -> None:  # type: ignore[no-untyped-def]
    await add_product(stock=2, name="Last mugs")
    await add_product(stock=80, name="Plenty")
    yesterday = NOW - timedelta(days=1)
    for order in (
        _order(1, OrderStatus.PAID),
        _order(2, OrderStatus.PAID, at=yesterday),
        _order(3, OrderStatus.SHIPPED),
        _order(4, OrderStatus.PENDING),
        _order(5, OrderStatus.CANCELLED),
    ):
        store.data.orders[order.id] = order
    desk = contexts.stock_desk(store)
    found = await overview(uow=store, stock=desk, principal=admin(), low_stock_threshold=5, now=NOW)
    assert found.orders_to_ship == 2
    assert (found.orders_today, found.revenue_today) == (3, Decimal("66000.00"))
    assert [p.name for p in found.low_stock] == ["Last mugs"]
    store.data.orders[2] = replace(store.data.orders[2], status=OrderStatus.SHIPPED)
    again = await overview(uow=store, stock=desk, principal=admin(), low_stock_threshold=5, now=NOW)
    assert again.orders_to_ship == 1


async def test_low_stock_comes_from_the_products_context(
    store: FakeStore, catalog_cache: CatalogCache
) -> None:
    """As in the services topology: the orders context's database holds no products; the
    products context's does, and its desk answers the low stock."""
    products = FakeStore()
    store.data.orders[1] = _order(1, OrderStatus.PAID)
    shelf = contexts.stock_desk(products, catalog_cache)
    for name, stock in (("Last kettle", 1), ("Few cups", 3), ("Plenty", 40)):
        await _stock(products, catalog_cache, name, stock)
    found = await overview(
        uow=store, stock=shelf, principal=admin(), low_stock_threshold=3, now=NOW
    )
    assert [(p.name, p.stock_quantity) for p in found.low_stock] == [
        ("Last kettle", 1),
        ("Few cups", 3),
    ]
    assert (found.orders_today, found.orders_to_ship) == (1, 1)
    assert store.data.products == {}


async def _stock(products: FakeStore, cache: CatalogCache, name: str, stock: int) -> None:
    products.data.categories[1] = Category(1, "kitchen", "주방", "Kitchen")
    await catalog.create_product(
        uow=products,
        cache=cache,
        name=name,
        price=Decimal("1000.00"),
        category="kitchen",
        stock_quantity=stock,
    )


async def test_only_staff_see_it(store: FakeStore) -> None:
    with pytest.raises(PermissionDenied):
        await overview(
            uow=store,
            stock=contexts.stock_desk(store),
            principal=customer(),
            low_stock_threshold=5,
            now=NOW,
        )
