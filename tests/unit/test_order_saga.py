"""The order saga across the contexts' ports, against fakes: every reservation an order does
not keep is released (once), and a charge the order cannot keep is refunded (once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.bootstrap import build_shop
from cloudmall.config import Settings
from cloudmall.domain import events
from cloudmall.domain.errors import PaymentRefunded, TotalMismatch
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.payments import PaymentStatus
from cloudmall.domain.reservations import ReservationExpired, ReservationStatus
from cloudmall.services import cancellation, orders, payments, stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.order_readers import ORDERS_CONSUMER, orders_reader
from cloudmall.services.outbox_readers import BackgroundLoop
from cloudmall.services.ports import Principal, UnitOfWork
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeMetrics, FakeStore, customer

pytestmark = pytest.mark.anyio


async def place(store, cache, metrics, product_id, *, quantity=1, total=None, key=None):  # type: ignore[no-untyped-def]
    desk = OrderDesk(
        uow=store, stock=stock_desk(store, cache), metrics=metrics, limits=orders.OrderLimits()
    )
    placed = await desk.place(
        principal=customer(),
        items=[(product_id, quantity)],
        client_total=total,
        idempotency_key=key,
        address=HOME,
    )
    return placed.order


async def pay(store, gateway, order_id):  # type: ignore[no-untyped-def]
    return await payments.pay_order(
        uow=store,
        order_book=order_book(store),
        gateway=gateway,
        metrics=FakeMetrics(),
        principal=customer(),
        order_id=order_id,
        card_number="4242 4242 4242 4242",
        expiry="12/49",
        cvc="123",
        currency="KRW",
        idempotency_key=None,
    )


def cancel(store, cache, gateway, order_id):  # type: ignore[no-untyped-def]
    return cancellation.cancel_order(
        uow=store,
        stock=stock_desk(store, cache),
        payment_desk=payment_desk(store, gateway),
        principal=customer(),
        order_id=order_id,
    )


def stock_moves(store: FakeStore, reason: str) -> list[int]:
    return [
        entry.event.payload["delta"]
        for entry in store.data.outbox
        if entry.event.type == events.PRODUCT_STOCK_CHANGED.name
        and entry.event.payload["reason"] == reason
    ]


async def test_an_order_holds_its_units_under_its_reservation(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id, quantity=2, key="k1")
    assert order.reservation_id is not None
    reservation = store.data.reservations[order.reservation_id]
    assert reservation.status is ReservationStatus.RESERVED
    assert reservation.quantities == {mug.id: 2}
    placed = [e.event for e in store.data.outbox if e.event.type == events.ORDER_PLACED.name]
    assert [e.payload["reservation_id"] for e in placed] == [order.reservation_id]


async def test_a_refused_order_releases_its_reservation(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=1, price="10.00")
    with pytest.raises(TotalMismatch):
        await place(store, catalog_cache, metrics, mug.id, total=Decimal("9.00"), key="k1")
    (reservation,) = store.data.reservations.values()
    assert reservation.status is ReservationStatus.RELEASED
    assert store.data.products[mug.id].stock_quantity == 1
    assert store.data.orders == {}
    # The customer corrects the total under the same key: the last unit is there again.
    order = await place(store, catalog_cache, metrics, mug.id, total=Decimal("10.00"), key="k1")
    assert order.status is OrderStatus.PENDING
    assert store.data.products[mug.id].stock_quantity == 0


class FailingOrders:
    """Units of work over `store` whose orders cannot be inserted (a database that fails)."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    @asynccontextmanager
    async def __call__(self, *, write: bool = False) -> AsyncIterator[UnitOfWork]:
        async with self.store(write=write) as tx:

            async def refuse(new: object) -> list[Order]:
                raise RuntimeError("the orders' database failed")

            tx.orders.add_many = refuse  # type: ignore[method-assign]
            yield tx


@pytest.mark.parametrize("placer_type", [orders.OrderPerTransaction, OrderDesk])
async def test_an_order_whose_transaction_fails_releases_its_reservation(
    store, catalog_cache, metrics, add_product, placer_type
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    placer = placer_type(
        uow=FailingOrders(store),
        stock=stock_desk(store, catalog_cache),
        metrics=metrics,
        limits=orders.OrderLimits(),
    )
    with pytest.raises(RuntimeError):
        await placer.place(
            principal=customer(), items=[(mug.id, 2)], client_total=None, idempotency_key=None
        )
    (reservation,) = store.data.reservations.values()
    assert reservation.status is ReservationStatus.RELEASED
    assert store.data.products[mug.id].stock_quantity == 3
    assert stock_moves(store, orders.FAILED) == [2]


async def test_paying_after_the_reservation_expired_is_refused_and_refunded(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id, quantity=2)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await stock.expire_due(store, cache=catalog_cache, now=later) == 1
    gateway = FakeGateway()
    with pytest.raises(ReservationExpired) as refused:
        await pay(store, gateway, order.id)
    assert refused.value.code == "reservation_expired"
    assert gateway.refunds == ["ref-1"]  # charged, and given back at once
    assert [p.status for p in store.data.payments.values()] == [PaymentStatus.REFUNDED]
    refunds = [e.event for e in store.data.outbox if e.event.type == "payment.refunded"]
    assert [e.payload["reference"] for e in refunds] == ["ref-1"]
    assert store.data.orders[order.id].status is OrderStatus.CANCELLED  # it can never be paid
    assert store.data.products[mug.id].stock_quantity == 3


async def test_cancelling_a_paid_order_refunds_once_and_releases_once(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id, quantity=2)
    gateway = FakeGateway()
    await pay(store, gateway, order.id)
    assert store.data.reservations[order.reservation_id].status is ReservationStatus.SOLD
    first = await cancel(store, catalog_cache, gateway, order.id)
    again = await cancel(store, catalog_cache, gateway, order.id)
    assert first.status is again.status is OrderStatus.CANCELLED
    assert gateway.refunds == ["ref-1"]
    assert store.data.reservations[order.reservation_id].status is ReservationStatus.RELEASED
    assert store.data.products[mug.id].stock_quantity == 3
    assert stock_moves(store, "refund") == [2]
    # The products context's `stock` reader releases on the event too: nothing moves twice.
    (cancelled,) = [e.event for e in store.data.outbox if e.event.type == "order.cancelled"]
    assert cancelled.payload["reservation_id"] == order.reservation_id
    await stock.handle_order_event(store, cancelled, cache=catalog_cache)
    assert store.data.products[mug.id].stock_quantity == 3


class CancelAfterMarkPaid:
    """The orders context as a customer cancels the order just after it was marked paid and
    before its payer captured the charge."""

    def __init__(self, store: FakeStore, cache: CatalogCache, gateway: FakeGateway) -> None:
        self.store, self.cache, self.gateway = store, cache, gateway
        self.book = order_book(store, cache)
        self.cancelled: Order | None = None

    async def payable(self, principal: Principal, order_id: int) -> Order:
        return await self.book.payable(principal, order_id)

    async def visible(self, principal: Principal, order_id: int) -> Order:
        return await self.book.visible(principal, order_id)

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        paid = await self.book.mark_paid(order_id, payment_reference=payment_reference)
        self.cancelled = await cancel(self.store, self.cache, self.gateway, order_id)
        return paid


async def test_a_cancel_between_marked_paid_and_captured_refunds_the_charge_at_once(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    """The payment is `charged` before its order is marked paid, so a cancel in between finds
    it and refunds it without waiting; the payer then answers 409 `payment_refunded`."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    book = CancelAfterMarkPaid(store, catalog_cache, gateway)
    with pytest.raises(PaymentRefunded) as refused:
        await payments.pay_order(
            uow=store, order_book=book, gateway=gateway, metrics=FakeMetrics(),
            principal=customer(), order_id=order.id, card_number="4242 4242 4242 4242",
            expiry="12/49", cvc="123", currency="KRW", idempotency_key="k1",
        )  # fmt: skip
    assert refused.value.code == "payment_refunded"
    assert book.cancelled is not None and book.cancelled.status is OrderStatus.CANCELLED
    assert gateway.refunds == ["ref-1"]
    assert [p.status for p in store.data.payments.values()] == [PaymentStatus.REFUNDED]
    assert store.data.products[mug.id].stock_quantity == 3
    # The payment's key is released: a retry with it gets the order's state, not a stale answer.
    assert [scope for _, scope, _ in store.data.idempotency] == ["order-paid"]


async def test_an_expired_reservation_cancels_its_pending_order_once_and_not_a_paid_one(
    store, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="10.00")
    pending = await place(store, catalog_cache, metrics, mug.id)
    paid = await place(store, catalog_cache, metrics, mug.id)
    await pay(store, FakeGateway(), paid.id)
    for order in (pending, paid, pending):
        assert order.reservation_id is not None
        event = events.reservation_expired(order.reservation_id)
        await cancellation.handle_stock_event(store, event)
    assert store.data.orders[pending.id].status is OrderStatus.CANCELLED
    assert store.data.orders[paid.id].status is OrderStatus.PAID
    cancelled = [e.event for e in store.data.outbox if e.event.type == "order.cancelled"]
    assert [e.payload["order_id"] for e in cancelled] == [pending.id]


async def test_the_orders_reader_cancels_the_orders_whose_reservations_expired(
    store, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="10.00")
    orders_placed = [await place(store, catalog_cache, metrics, mug.id) for _ in range(3)]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await stock.expire_due(store, cache=catalog_cache, now=later) == 3
    reader = orders_reader(store, batch_size=2, consumers=(ORDERS_CONSUMER,))
    assert await reader.run_once() > 0
    assert await reader.run_once() == 0
    statuses = {store.data.orders[order.id].status for order in orders_placed}
    assert statuses == {OrderStatus.CANCELLED}
    assert store.data.products[mug.id].stock_quantity == 5


async def test_a_server_with_the_orders_reader_runs_it_in_the_background(tmp_path: Path) -> None:
    shop = build_shop(Settings(var_dir=tmp_path, outbox_consumers="lake,mail,orders"))
    try:
        loops = [work for work in shop._background if isinstance(work, BackgroundLoop)]
        consumers = {getattr(loop.reader, "consumer", None) for loop in loops}
        assert ORDERS_CONSUMER in consumers
    finally:
        await shop.aclose()
