"""Paying while the orders context is out of reach (services topology): a mark-paid call cut
off after its commit is asked again with the same reference, so the paid order keeps its
charge; an orders context away for longer than the patience leaves the charge `charged`, and
the reconciler settles it once the orders context answers again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudmall.domain.errors import DependencyUnavailable
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.services import payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.payment_reconciler import PaymentReconciler
from cloudmall.services.ports import OrderBook, Principal
from tests.unit.contexts import order_book
from tests.unit.fakes import FakeGateway, FakeMetrics, FakeStore, customer
from tests.unit.test_order_saga import place

pytestmark = pytest.mark.anyio

#: The reconciler's now: past the grace of every payment these tests make.
LATER = datetime.now(UTC) + timedelta(hours=1)


class CutOff:
    """An OrderBook whose first `cuts` mark-paid calls are cut off (`after_commit`: once the
    orders context has made the change)."""

    def __init__(self, book: OrderBook, *, cuts: int, after_commit: bool) -> None:
        self.book, self.cuts, self.after_commit = book, cuts, after_commit
        self.calls = 0

    async def payable(self, principal: Principal, order_id: int) -> Order:
        return await self.book.payable(principal, order_id)

    async def visible(self, principal: Principal, order_id: int) -> Order:
        return await self.book.visible(principal, order_id)

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        self.calls += 1
        if self.calls <= self.cuts:
            if self.after_commit:
                await self.book.mark_paid(order_id, payment_reference=payment_reference)
            raise DependencyUnavailable("orders: the connection was cut")
        return await self.book.mark_paid(order_id, payment_reference=payment_reference)


async def pay(store: FakeStore, book: OrderBook, gateway: FakeGateway, order_id: int) -> None:
    await payments.pay_order(
        uow=store, order_book=book, gateway=gateway, metrics=FakeMetrics(),
        principal=customer(), order_id=order_id, card_number="4242 4242 4242 4242",
        expiry="12/49", cvc="123", currency="KRW", idempotency_key=None,
    )  # fmt: skip


async def test_a_mark_paid_cut_off_after_its_commit_keeps_the_charge(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(payments, "MARK_PAID_RETRY_SECONDS", 0.0)
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    book = CutOff(order_book(store, catalog_cache), cuts=2, after_commit=True)
    await pay(store, book, gateway, order.id)
    assert book.calls == 3
    assert gateway.refunds == []
    assert store.data.orders[order.id].status is OrderStatus.PAID
    assert [p.status.value for p in store.data.payments.values()] == ["captured"]


async def test_an_orders_context_away_past_the_patience_leaves_the_charge_to_the_reconciler(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(payments, "MARK_PAID_RETRY_SECONDS", 0.01)
    monkeypatch.setattr(payments, "MARK_PAID_PATIENCE_SECONDS", 0.05)
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    book = CutOff(order_book(store, catalog_cache), cuts=1_000, after_commit=False)
    with pytest.raises(DependencyUnavailable):
        await pay(store, book, gateway, order.id)
    assert book.calls > 1
    # Not refunded: the orders context may have paid the order before the line was cut.
    assert gateway.refunds == []
    assert store.data.orders[order.id].status is OrderStatus.PENDING
    assert [p.status.value for p in store.data.payments.values()] == ["charged"]
    book.cuts = 0  # the orders context is back
    reconciler = PaymentReconciler(
        store, gateway, book, FakeMetrics(), grace_seconds=60, clock=lambda: LATER
    )
    assert await reconciler.run_once() == 1
    assert store.data.orders[order.id].status is OrderStatus.PAID
    assert [p.status.value for p in store.data.payments.values()] == ["captured"]
    assert gateway.refunds == []
