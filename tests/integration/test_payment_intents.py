"""The payment repository's contract on each real store (SQLite, MariaDB, PostgreSQL, DynamoDB):
intents written `pending`, moved once by conditional updates, found by the reconciler while on
their way and not after; and the reconciler settling a payer's crash end to end. The simulated
gateway's ledger file is shared by two instances (two payments processes)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.adapters.payments.simulated import SimulatedGateway
from cloudmall.domain.cards import Card
from cloudmall.domain.orders import Order
from cloudmall.domain.payments import PaymentStatus
from cloudmall.services import payment_intents
from cloudmall.services.payment_reconciler import PaymentReconciler
from cloudmall.services.ports import Principal, UnitOfWorkFactory
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio

CARD = Card("4242424242424242", "12/49", "123")


async def test_an_intent_moves_once_and_leaves_the_reconcilers_view_when_settled(
    uow: UnitOfWorkFactory,
) -> None:
    first = await payment_intents.open_intent(
        uow, order_id=7, amount=Decimal("28.50"), card_last4="4242"
    )
    second = await payment_intents.open_intent(
        uow, order_id=7, amount=Decimal("28.50"), card_last4="4242"
    )
    assert (first.status, first.provider_reference) == (PaymentStatus.PENDING, None)
    assert first.intent_key != second.intent_key
    later = datetime.now(UTC) + timedelta(minutes=1)
    async with uow() as tx:
        assert [p.id for p in await tx.payments.unsettled(updated_before=later, limit=10)] == [
            first.id,
            second.id,
        ]
        earlier = later - timedelta(hours=1)
        assert await tx.payments.unsettled(updated_before=earlier, limit=10) == []
        assert len(await tx.payments.unsettled(updated_before=later, limit=1)) == 1
    async with uow(write=True) as tx:
        assert await tx.payments.transition(first, PaymentStatus.CHARGED, provider_reference="r1")
        await tx.commit()
    async with uow(write=True) as tx:  # read before the move: it was pending, no longer
        assert not await tx.payments.transition(first, PaymentStatus.ABANDONED)
        assert await tx.payments.transition(second, PaymentStatus.ABANDONED)
        await tx.commit()
    async with uow() as tx:
        found = {p.id: p for p in await tx.payments.for_order(7)}
        unsettled = await tx.payments.unsettled(
            updated_before=datetime.now(UTC) + timedelta(minutes=1), limit=10
        )
    assert found[first.id].status is PaymentStatus.CHARGED
    assert found[first.id].provider_reference == "r1"
    assert found[first.id].intent_key == first.intent_key
    assert found[first.id].amount == Decimal("28.50")
    assert found[second.id].status is PaymentStatus.ABANDONED
    assert [p.id for p in unsettled] == [first.id]  # charged is still on its way; abandoned not
    charged = found[first.id]
    async with uow(write=True) as tx:
        assert await tx.payments.transition(charged, PaymentStatus.CAPTURED)
        await tx.commit()
    async with uow() as tx:
        assert (
            await tx.payments.unsettled(
                updated_before=datetime.now(UTC) + timedelta(minutes=1), limit=10
            )
            == []
        )


async def test_two_refunds_of_one_charge_refund_it_once(uow: UnitOfWorkFactory) -> None:
    intent = await payment_intents.open_intent(
        uow, order_id=9, amount=Decimal("10.00"), card_last4="4242"
    )
    async with uow(write=True) as tx:
        charged = await payment_intents.move(tx, intent, PaymentStatus.CHARGED, reference="r9")
        await tx.commit()
    assert charged is not None
    gateway = SimulatedGateway()
    results = await asyncio.gather(
        *(
            payment_intents.refund(uow, gateway, FakeMetrics(), charged, "requested", user_id=7)
            for _ in "ab"
        )
    )
    assert sorted(r is not None for r in results) == [False, True]
    async with uow() as tx:
        (payment,) = await tx.payments.for_order(9)
    assert payment.status is PaymentStatus.REFUNDED
    assert gateway.refunded == {"r9"}


class PaidBook:
    """The orders context as the reconciler sees it: every order may be paid (by one payment)."""

    def __init__(self) -> None:
        self.paid: dict[int, str] = {}

    async def payable(self, principal: Principal, order_id: int) -> Order:
        raise NotImplementedError

    async def visible(self, principal: Principal, order_id: int) -> Order:
        raise NotImplementedError

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        self.paid.setdefault(order_id, payment_reference)
        return None  # type: ignore[return-value]  # the reconciler does not read the order


async def test_a_charge_made_before_a_crash_is_found_through_the_ledger_and_captured(
    uow: UnitOfWorkFactory, tmp_path: Path
) -> None:
    """The payer wrote its intent and the gateway charged it, then the process died; another
    process's gateway (the same ledger file) finds the charge and the reconciler captures it."""
    ledger = tmp_path / "gateway-ledger.sqlite3"
    intent = await payment_intents.open_intent(
        uow, order_id=11, amount=Decimal("5.00"), card_last4="4242"
    )
    charged = await SimulatedGateway(ledger).charge(
        amount=Decimal("5.00"), currency="KRW", card=CARD, intent_key=intent.intent_key
    )
    abandoned = await payment_intents.open_intent(
        uow, order_id=12, amount=Decimal("5.00"), card_last4="4242"
    )
    book = PaidBook()
    reconciler = PaymentReconciler(
        uow,
        SimulatedGateway(ledger),
        book,
        FakeMetrics(),
        grace_seconds=60,
        clock=lambda: datetime.now(UTC) + timedelta(hours=1),
    )
    assert await reconciler.run_once() == 2
    assert book.paid == {11: charged.reference}
    async with uow() as tx:
        (captured,) = await tx.payments.for_order(11)
        (gone,) = await tx.payments.for_order(12)
    assert (captured.status, captured.provider_reference) == (
        PaymentStatus.CAPTURED,
        charged.reference,
    )
    assert gone.status is PaymentStatus.ABANDONED and gone.intent_key == abandoned.intent_key
    assert await reconciler.run_once() == 0


async def test_the_ledger_charges_one_intent_key_once_across_processes(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    one, other = SimulatedGateway(ledger), SimulatedGateway(ledger)
    answers = await asyncio.gather(
        one.charge(amount=Decimal("1"), currency="KRW", card=CARD, intent_key="pi_x"),
        other.charge(amount=Decimal("1"), currency="KRW", card=CARD, intent_key="pi_x"),
    )
    assert answers[0] == answers[1] and answers[0].approved
    assert await other.find("pi_x") == answers[0] and await one.find("pi_y") is None
    await one.refund(reference=answers[0].reference, amount=Decimal("1"))
    assert not await asyncio.to_thread(other._refund, answers[0].reference)  # refunded once
