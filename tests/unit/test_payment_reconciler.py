"""The payment lifecycle and its crash windows, against fakes: a payer killed between any two
steps (after its intent, after the charge, after the order was marked paid, before the capture)
leaves a payment the reconciler settles from the gateway's record — captured once if the order
takes it, refunded if not, abandoned if nothing was charged — and never a charge without a
record."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloudmall.domain.cards import Card
from cloudmall.domain.errors import InvalidTransition, PaymentDeclined
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.payments import (
    ALLOWED_TRANSITIONS,
    ChargeResult,
    PaymentStatus,
    check_transition,
)
from cloudmall.services import payment_intents, payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.payment_reconciler import PaymentReconciler
from cloudmall.services.ports import OrderBook, Principal
from tests.unit.contexts import order_book
from tests.unit.fakes import FakeGateway, FakeMetrics, FakeStore, customer
from tests.unit.test_order_saga import cancel, place

pytestmark = pytest.mark.anyio


class Killed(BaseException):
    """The payments process SIGKILLed: nothing after this point of the payer runs."""


def later() -> datetime:
    """The reconciler's clock: past the grace of every payment made so far."""
    return datetime.now(UTC) + timedelta(hours=1)


def reconciler(store: FakeStore, gateway: FakeGateway, book: OrderBook) -> PaymentReconciler:
    return PaymentReconciler(store, gateway, book, FakeMetrics(), grace_seconds=60, clock=later)


async def pay(  # type: ignore[no-untyped-def]
    store: FakeStore,
    book: OrderBook,
    gateway: FakeGateway,
    order_id: int,
    metrics: FakeMetrics | None = None,
):
    return await payments.pay_order(
        uow=store, order_book=book, gateway=gateway, metrics=metrics or FakeMetrics(),
        principal=customer(), order_id=order_id, card_number="4242 4242 4242 4242",
        expiry="12/49", cvc="123", currency="KRW", idempotency_key="k1",
    )  # fmt: skip


class KilledBeforeCharge(FakeGateway):
    async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
        raise Killed


class KilledAfterCharge(FakeGateway):
    async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
        await super().charge(**kwargs)
        raise Killed


class KilledAround:
    """An OrderBook whose mark_paid kills the payer before or after it made its change."""

    def __init__(self, book: OrderBook, *, after_commit: bool) -> None:
        self.book, self.after_commit, self.kills = book, after_commit, 1

    async def payable(self, principal: Principal, order_id: int) -> Order:
        return await self.book.payable(principal, order_id)

    async def visible(self, principal: Principal, order_id: int) -> Order:
        return await self.book.visible(principal, order_id)

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        if self.kills:
            self.kills -= 1
            if self.after_commit:
                await self.book.mark_paid(order_id, payment_reference=payment_reference)
            raise Killed
        return await self.book.mark_paid(order_id, payment_reference=payment_reference)


def statuses(store: FakeStore) -> list[str]:
    return [p.status.value for p in store.data.payments.values()]


def captured_events(store: FakeStore) -> list[str]:
    return [e.event.type for e in store.data.outbox if e.event.type.startswith("payment.")]


def test_the_lifecycle_is_data_and_refuses_every_other_move() -> None:
    moves = {(s, t) for s, targets in ALLOWED_TRANSITIONS.items() for t in targets}
    assert moves == {
        (PaymentStatus.PENDING, PaymentStatus.CHARGED),
        (PaymentStatus.PENDING, PaymentStatus.DECLINED),
        (PaymentStatus.PENDING, PaymentStatus.ABANDONED),
        (PaymentStatus.CHARGED, PaymentStatus.CAPTURED),
        (PaymentStatus.CHARGED, PaymentStatus.REFUNDED),
        (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED),
    }
    for source in PaymentStatus:
        for target in PaymentStatus:
            if (source, target) in moves:
                check_transition(source, target)
            else:
                with pytest.raises(InvalidTransition):
                    check_transition(source, target)


async def test_a_payment_goes_pending_charged_captured_with_one_event(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    paid = await pay(store, order_book(store, catalog_cache), gateway, order.id)
    assert paid.payment.status is PaymentStatus.CAPTURED
    assert paid.payment.provider_reference == "ref-1"
    assert list(gateway.answers) == [paid.payment.intent_key]  # charged under the intent's key
    assert captured_events(store) == ["payment.captured"]
    assert await reconciler(store, gateway, order_book(store)).run_once() == 0


async def test_a_declined_card_leaves_a_declined_payment_the_customer_does_not_see(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    with pytest.raises(PaymentDeclined):
        await pay(store, order_book(store, catalog_cache), FakeGateway(approve=False), order.id)
    assert statuses(store) == ["declined"]
    assert captured_events(store) == ["payment.declined"]
    seen = await payments.order_payments(
        uow=store, order_book=order_book(store), principal=customer(), order_id=order.id
    )
    assert seen == []


async def test_killed_after_its_intent_the_payment_is_abandoned(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = order_book(store, catalog_cache)
    gateway = KilledBeforeCharge()
    with pytest.raises(Killed):
        await pay(store, book, gateway, order.id)
    assert statuses(store) == ["pending"]
    # Within its grace the reconciler leaves it alone: its payer may be at work.
    now = PaymentReconciler(store, gateway, book, FakeMetrics(), grace_seconds=60)
    assert await now.run_once() == 0 and statuses(store) == ["pending"]
    assert await reconciler(store, gateway, book).run_once() == 1
    assert statuses(store) == ["abandoned"]
    assert store.data.orders[order.id].status is OrderStatus.PENDING
    assert gateway.refunds == [] and captured_events(store) == []


async def test_killed_after_the_charge_the_reconciler_finds_it_and_captures_it(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = order_book(store, catalog_cache)
    gateway = KilledAfterCharge()
    with pytest.raises(Killed):
        await pay(store, book, gateway, order.id)
    assert statuses(store) == ["pending"] and gateway.charges == [Decimal("10.00")]
    assert await reconciler(store, gateway, book).run_once() == 1
    assert statuses(store) == ["captured"]
    (payment,) = store.data.payments.values()
    assert payment.provider_reference == "ref-1"
    assert store.data.orders[order.id].status is OrderStatus.PAID
    assert captured_events(store) == ["payment.captured"]
    assert await reconciler(store, gateway, book).run_once() == 0  # settled once


async def test_killed_after_the_charge_of_an_order_cancelled_since_the_charge_is_refunded(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = order_book(store, catalog_cache)
    gateway = KilledAfterCharge()
    with pytest.raises(Killed):
        await pay(store, book, gateway, order.id)
    await cancel(store, catalog_cache, gateway, order.id)  # pending: nothing to refund yet
    assert gateway.refunds == []
    assert await reconciler(store, gateway, book).run_once() == 1
    assert statuses(store) == ["refunded"] and gateway.refunds == ["ref-1"]
    assert store.data.orders[order.id].status is OrderStatus.CANCELLED
    assert captured_events(store) == ["payment.refunded"]


@pytest.mark.parametrize("after_commit", [False, True], ids=["before", "after"])
async def test_killed_around_mark_paid_the_reconciler_pays_the_order_and_captures_once(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product, after_commit: bool
) -> None:  # type: ignore[no-untyped-def]
    """Killed before the orders context marked the order paid, or after it did and before the
    payment was captured: the reconciler asks mark_paid with the same reference (the same
    answer if it was paid) and captures."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = KilledAround(order_book(store, catalog_cache), after_commit=after_commit)
    gateway = FakeGateway()
    with pytest.raises(Killed):
        await pay(store, book, gateway, order.id)
    assert statuses(store) == ["charged"]
    paid = OrderStatus.PAID if after_commit else OrderStatus.PENDING
    assert store.data.orders[order.id].status is paid
    assert await reconciler(store, gateway, book).run_once() == 1
    assert statuses(store) == ["captured"]
    assert store.data.orders[order.id].status is OrderStatus.PAID
    assert gateway.charges == [Decimal("10.00")] and gateway.refunds == []
    assert captured_events(store) == ["payment.captured"]


async def test_a_charged_payment_killed_before_its_capture_is_refunded_by_a_cancel(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    """A paid order's payment still `charged` (its payer died) is refunded by a cancel; the
    reconciler then finds nothing to do."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = KilledAround(order_book(store, catalog_cache), after_commit=True)
    gateway = FakeGateway()
    with pytest.raises(Killed):
        await pay(store, book, gateway, order.id)
    cancelled = await cancel(store, catalog_cache, gateway, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert statuses(store) == ["refunded"] and gateway.refunds == ["ref-1"]
    assert await reconciler(store, gateway, book).run_once() == 0


async def test_a_payer_slower_than_the_grace_refunds_a_charge_made_after_its_abandon(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    """The reconciler abandoned the intent (no charge yet); the gateway then charged it: the
    payer gives the charge back rather than leave it without a record."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = order_book(store, catalog_cache)

    class Slow(FakeGateway):
        async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
            await reconciler(store, self, book).run_once()
            return await super().charge(**kwargs)

    gateway = Slow()
    with pytest.raises(payments.PaymentInProgress):
        await pay(store, book, gateway, order.id)
    assert statuses(store) == ["abandoned"]
    assert gateway.charges == [Decimal("10.00")] and gateway.refunds == ["ref-1"]
    assert store.data.orders[order.id].status is OrderStatus.PENDING


async def test_the_reconciler_records_a_decline_found_at_the_gateway(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    intent = await payment_intents.open_intent(
        store, order_id=order.id, amount=Decimal("10.00"), card_last4="0002"
    )
    gateway = FakeGateway()
    gateway.answers[intent.intent_key] = ChargeResult(False, "", "card_declined")
    assert await reconciler(store, gateway, order_book(store)).run_once() == 1
    assert statuses(store) == ["declined"]
    assert captured_events(store) == ["payment.declined"]


async def test_a_cancel_refunds_every_standing_charge_and_the_reconciler_captures_none(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    """An order paid by one payment whose payer died before capturing, and a second charge
    on its way (a retry cut off): the cancel gives both back, and the reconciler does not
    take the order's old "paid by this payment" answer for a cancelled order."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = KilledAround(order_book(store, catalog_cache), after_commit=True)
    gateway = FakeGateway()
    with pytest.raises(Killed):
        await pay(store, book, gateway, order.id)
    second = await payment_intents.open_intent(
        store, order_id=order.id, amount=Decimal("10.00"), card_last4="4242"
    )
    card = Card("4242424242424242", "12/49", "123")
    result = await gateway.charge(
        amount=Decimal("10.00"), currency="KRW", card=card, intent_key=second.intent_key
    )
    assert await payment_intents.record_answer(store, FakeMetrics(), second, result)
    assert statuses(store) == ["charged", "charged"]
    await cancel(store, catalog_cache, gateway, order.id)
    assert statuses(store) == ["refunded", "refunded"]
    assert sorted(gateway.refunds) == ["ref-1", "ref-2"]
    assert await reconciler(store, gateway, book).run_once() == 0
    assert store.data.orders[order.id].status is OrderStatus.CANCELLED


async def test_a_charge_of_an_order_cancelled_after_it_paid_is_refunded_not_captured(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    """The orders context answers a repeated mark_paid as the first time only while the order
    is not cancelled: a charge still `charged` for a cancelled order is refunded."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    book = order_book(store, catalog_cache)
    await book.mark_paid(order.id, payment_reference="ref-1")
    await cancel(store, catalog_cache, FakeGateway(), order.id)  # nothing recorded to refund
    with pytest.raises(InvalidTransition):
        await book.mark_paid(order.id, payment_reference="ref-1")


def captures(metrics: FakeMetrics) -> int:
    return metrics.events.count(("payment", "captured"))


async def race_setup(  # type: ignore[no-untyped-def]
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> tuple[Order, FakeGateway, FakeMetrics, OrderBook]:
    """A placed order, a gateway, the metrics both rivals count into and the orders context."""
    mug = await add_product(stock=3, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    return order, FakeGateway(), FakeMetrics(), order_book(store, catalog_cache)


class ReconcilerFirst:
    """An OrderBook whose first mark_paid (the payer's) lets the reconciler settle the payment
    before the payer goes on to capture it."""

    def __init__(self, book: OrderBook, run_reconciler) -> None:  # type: ignore[no-untyped-def]
        self.book, self.run_reconciler, self.first = book, run_reconciler, True

    async def payable(self, principal: Principal, order_id: int) -> Order:
        return await self.book.payable(principal, order_id)

    async def visible(self, principal: Principal, order_id: int) -> Order:
        return await self.book.visible(principal, order_id)

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        paid = await self.book.mark_paid(order_id, payment_reference=payment_reference)
        if self.first:
            self.first = False
            assert await self.run_reconciler() == 1
        return paid


async def test_the_reconciler_capturing_first_counts_one_capture_and_the_payer_answers_it(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    order, gateway, counted, inner = await race_setup(store, catalog_cache, metrics, add_product)
    rival = PaymentReconciler(store, gateway, inner, counted, grace_seconds=60, clock=later)
    book = ReconcilerFirst(inner, rival.run_once)
    paid = await pay(store, book, gateway, order.id, metrics=counted)
    assert paid.payment.status is PaymentStatus.CAPTURED
    assert statuses(store) == ["captured"]
    assert captured_events(store) == ["payment.captured"]
    assert captures(counted) == 1


async def test_the_payer_capturing_first_counts_one_capture_and_the_reconciler_none(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    """The reconciler asks the orders context; while it waits the payer captures: the
    reconciler's capture finds the payment captured and neither counts it twice."""
    order, gateway, counted, inner = await race_setup(store, catalog_cache, metrics, add_product)
    asked, answer = asyncio.Event(), asyncio.Event()

    class HeldBook(ReconcilerFirst):
        async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
            paid = await self.book.mark_paid(order_id, payment_reference=payment_reference)
            if self.first:  # the payer's call: the reconciler starts and asks too
                self.first = False
                reconciling.append(asyncio.create_task(rival.run_once()))
                await asyncio.wait_for(asked.wait(), 5)
            else:  # the reconciler's: held until the payer has captured
                asked.set()
                await asyncio.wait_for(answer.wait(), 5)
            return paid

    reconciling: list[asyncio.Task[int]] = []
    book = HeldBook(inner, None)
    rival = PaymentReconciler(store, gateway, book, counted, grace_seconds=60, clock=later)
    paid = await pay(store, book, gateway, order.id, metrics=counted)
    assert paid.payment.status is PaymentStatus.CAPTURED
    answer.set()
    assert await reconciling[0] == 0  # nothing of its own settled
    assert statuses(store) == ["captured"]
    assert captured_events(store) == ["payment.captured"]
    assert captures(counted) == 1
