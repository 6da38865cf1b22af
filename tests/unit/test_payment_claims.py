"""Paying with an Idempotency-Key: the key is claimed before the charge, so one key, one charge."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from cloudmall.domain.errors import IdempotencyKeyReused, PaymentDeclined, PaymentInProgress
from cloudmall.domain.orders import OrderStatus
from cloudmall.services import payments
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.ports import IdempotencyRecord
from tests.unit.contexts import order_book, stock_desk
from tests.unit.fakes import HOME, FakeGateway, RecordingTracer, customer, now

pytestmark = pytest.mark.anyio


class SlowGateway(FakeGateway):
    """Charges once `done` is set: the first payment is still at the gateway meanwhile."""

    def __init__(self, *, approve: bool = True) -> None:
        super().__init__(approve=approve)
        self.done = asyncio.Event()

    async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
        await self.done.wait()
        return await super().charge(**kwargs)


@pytest.fixture
async def order_id(store, catalog_cache, metrics, add_product) -> int:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="2500")
    desk = OrderDesk(
        uow=store, stock=stock_desk(store, catalog_cache), metrics=metrics, limits=OrderLimits()
    )
    placed = await desk.place(
        principal=customer(),
        items=[(mug.id, 2)],
        client_total=None,
        idempotency_key=None,
        address=HOME,
    )
    return placed.order.id


async def pay(store, metrics, gateway, order_id, key, card="4242 4242 4242 4242"):  # type: ignore[no-untyped-def]
    return await payments.pay_order(
        uow=store,
        order_book=order_book(store),
        gateway=gateway,
        metrics=metrics,
        principal=customer(),
        order_id=order_id,
        card_number=card,
        expiry="12/49",
        cvc="123",
        currency="KRW",
        idempotency_key=key,
    )


async def test_concurrent_payments_with_one_key_charge_once(store, metrics, order_id) -> None:  # type: ignore[no-untyped-def]
    gateway = SlowGateway()
    tasks = [asyncio.create_task(pay(store, metrics, gateway, order_id, "k")) for _ in range(5)]
    await asyncio.sleep(0.2)  # the first is at the gateway; the others wait on its claim
    gateway.done.set()
    paid = await asyncio.gather(*tasks)
    assert gateway.charges == [Decimal("5000.00")] and gateway.refunds == []
    assert len({answer.payment.id for answer in paid}) == 1
    assert sorted(answer.replayed for answer in paid) == [False, True, True, True, True]
    assert store.data.orders[order_id].status is OrderStatus.PAID


async def test_a_declined_payment_frees_its_key_for_a_retry(store, metrics, order_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PaymentDeclined):
        await pay(store, metrics, FakeGateway(approve=False), order_id, "k")
    gateway = FakeGateway()
    paid = await pay(store, metrics, gateway, order_id, "k")
    assert not paid.replayed and gateway.charges == [Decimal("5000.00")]


async def test_a_key_in_progress_for_too_long_is_refused_and_a_stale_one_taken_over(
    store, metrics, order_id, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(payments, "CLAIM_WAIT_SECONDS", 0.1)
    slot = (customer().user_id, f"payment:{order_id}", "k")
    print_ = payments.fingerprint({"order": order_id, "card": "4242"})
    store.data.idempotency[slot] = IdempotencyRecord(print_, "", now())
    gateway = FakeGateway()
    with pytest.raises(PaymentInProgress):
        await pay(store, metrics, gateway, order_id, "k")
    with pytest.raises(IdempotencyKeyReused):  # another card under the same key
        await pay(store, metrics, gateway, order_id, "k", card="5555 5555 5555 4444")
    assert gateway.charges == []
    old = now() - timedelta(seconds=payments.CLAIM_STALE_SECONDS + 1)
    store.data.idempotency[slot] = IdempotencyRecord(print_, "", old)
    paid = await pay(store, metrics, gateway, order_id, "k")
    assert not paid.replayed and gateway.charges == [Decimal("5000.00")]
    assert not store.data.idempotency[slot].in_progress


async def test_the_gateways_charge_is_a_span_of_its_own(store, metrics, order_id) -> None:  # type: ignore[no-untyped-def]
    tracer = RecordingTracer()
    seen_open: list[list[str]] = []

    class WatchedGateway(FakeGateway):
        async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
            seen_open.append(list(tracer.open))
            return await super().charge(**kwargs)

    await payments.pay_order(
        uow=store,
        order_book=order_book(store),
        gateway=WatchedGateway(),
        metrics=metrics,
        principal=customer(),
        order_id=order_id,
        card_number="4242 4242 4242 4242",
        expiry="12/49",
        cvc="123",
        currency="KRW",
        idempotency_key=None,
        tracer=tracer,
    )
    assert seen_open == [["payment gateway charge"]]
    assert (
        tracer.spans == [("payment gateway charge", {"cloudmall.order_id": order_id}, None, [])]
        and tracer.open == []
    )
