"""The staff's overview: today's orders and revenue, orders waiting to be shipped, low stock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloudmall.domain.errors import PermissionDenied
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.services.overview import overview
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
    found = await overview(uow=store, principal=admin(), low_stock_threshold=5, now=NOW)
    assert found.orders_to_ship == 2
    assert (found.orders_today, found.revenue_today) == (3, Decimal("66000.00"))
    assert [p.name for p in found.low_stock] == ["Last mugs"]
    store.data.orders[2] = replace(store.data.orders[2], status=OrderStatus.SHIPPED)
    again = await overview(uow=store, principal=admin(), low_stock_threshold=5, now=NOW)
    assert again.orders_to_ship == 1


async def test_only_staff_see_it(store: FakeStore) -> None:
    with pytest.raises(PermissionDenied):
        await overview(uow=store, principal=customer(), low_stock_threshold=5, now=NOW)
