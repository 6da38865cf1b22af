"""Paying for an order through the payment gateway, at most once."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudmall.domain.cards import Card
from cloudmall.domain.errors import (
    DependencyUnavailable,
    InvalidInput,
    PaymentDeclined,
    PaymentInProgress,
    PaymentRefunded,
)
from cloudmall.domain.orders import Order
from cloudmall.domain.payments import REFUNDABLE, VISIBLE, ChargeResult, Payment, PaymentStatus
from cloudmall.services import payment_intents
from cloudmall.services.idempotency import check_key, fingerprint, replay, with_retries
from cloudmall.services.ports import (
    NO_TRACER,
    Metrics,
    OrderBook,
    PaymentGateway,
    Principal,
    RetryableConflict,
    Tracer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.snapshots import (
    order_from_dict,
    order_to_dict,
    payment_from_dict,
    payment_to_dict,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PaidOrder:
    order: Order
    payment: Payment
    replayed: bool


#: How long a request waits for another with the same Idempotency-Key to finish, and how often
#: it looks; a claim older than CLAIM_STALE_SECONDS is from a request that died on the way.
CLAIM_WAIT_SECONDS = 10.0
CLAIM_POLL_SECONDS = 0.05
CLAIM_STALE_SECONDS = 120.0

#: How long a charge waits for the orders context to say whether its order is paid (a call cut
#: off may have committed: refunding then would leave a paid order without its charge), asking
#: again every MARK_PAID_RETRY_SECONDS, before it answers 503 and leaves the charge to the
#: reconciler.
MARK_PAID_PATIENCE_SECONDS = 15.0
MARK_PAID_RETRY_SECONDS = 1.0

#: 12 to 19 digits (0-9), with spaces or dashes anywhere between them.
CARD_NUMBER_PATTERN = r"^[ -]*(?:[0-9][ -]*){12,19}$"


def _card_digits(card_number: str) -> str:
    if not re.fullmatch(CARD_NUMBER_PATTERN, card_number):
        raise InvalidInput("The card number must be 12 to 19 digits")
    return card_number.replace(" ", "").replace("-", "")


async def pay_order(
    *,
    uow: UnitOfWorkFactory,
    order_book: OrderBook,
    gateway: PaymentGateway,
    metrics: Metrics,
    principal: Principal,
    order_id: int,
    card_number: str,
    expiry: str,
    cvc: str,
    currency: str,
    idempotency_key: str | None,
    tracer: Tracer = NO_TRACER,
) -> PaidOrder:
    """Charge the card for a pending order's total (goods and delivery fee) and mark it paid.

    An order whose address is pending is not charged (AddressRequired). The gateway checks the
    card (number, expiry, CVC) and declines one it refuses with its reason.

    The payment is written as an intent (`pending`, its own transaction) before the gateway is
    asked, and the gateway charges under the intent's key; its answer is recorded (`charged`
    or `declined`) before the orders context (`order_book`) marks the order paid, only if it
    is still pending and its units still reserved; then the payment is `captured`. If orders
    refuses (cancelled or expired meanwhile, or paid by a concurrent request) the charge is
    refunded at once, so a customer is never charged for nothing. A process that dies between
    two steps leaves the payment `pending` or `charged`, which the reconciler
    (services.payment_reconciler) finishes from the gateway's record. With an Idempotency-Key
    the key is claimed before the charge: a concurrent request with the same key waits for the
    first one's answer instead of charging the card too.
    """
    key = check_key(idempotency_key)
    digits = _card_digits(card_number)
    payment = _Payment(
        uow=uow,
        order_book=order_book,
        gateway=gateway,
        metrics=metrics,
        principal=principal,
        order_id=order_id,
        card=Card(digits, expiry.strip(), cvc.strip()),
        currency=currency,
        key=key,
        scope=f"payment:{order_id}",
        fingerprint=fingerprint({"order": order_id, "card": digits[-4:]}),
        tracer=tracer,
    )
    return await with_retries(payment.attempt)


@dataclass(frozen=True, slots=True)
class _Payment:
    """One payment request: its card, its order, and its Idempotency-Key's scope."""

    uow: UnitOfWorkFactory
    order_book: OrderBook
    gateway: PaymentGateway
    metrics: Metrics
    principal: Principal
    order_id: int
    card: Card
    currency: str
    key: str | None
    scope: str
    fingerprint: str
    tracer: Tracer = NO_TRACER

    async def attempt(self) -> PaidOrder:
        if self.key is not None and (answer := await self.claim_or_first_answer(self.key)):
            return answer
        try:
            return await self.charge_and_record()
        except BaseException:
            if self.key is not None:
                await self.release(self.key)
            raise

    async def claim_or_first_answer(self, key: str) -> PaidOrder | None:
        """Claim the key (None), or wait for the request that holds it and give its answer.

        So concurrent requests with one key make one charge: the others wait for its answer.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLAIM_WAIT_SECONDS
        while True:
            if await self.claim(key):
                return None
            async with self.uow() as tx:
                record = await tx.idempotency.get(
                    user_id=self.principal.user_id, scope=self.scope, key=key
                )
            if record is not None:  # (None: released meanwhile, that request failed: claim it)
                if not record.in_progress or record.fingerprint != self.fingerprint:
                    return _replayed(replay(record, self.fingerprint))
                if await self.take_over_stale(key):
                    return None  # its request died long ago without an answer
            if loop.time() > deadline:
                raise PaymentInProgress(
                    "A payment with this Idempotency-Key is still in progress; try again shortly"
                )
            await asyncio.sleep(CLAIM_POLL_SECONDS)

    async def claim(self, key: str) -> bool:
        async with self.uow(write=True) as tx:
            claimed = await tx.idempotency.claim(
                user_id=self.principal.user_id,
                scope=self.scope,
                key=key,
                fingerprint=self.fingerprint,
            )
            if claimed:
                await tx.commit()
        return claimed

    async def take_over_stale(self, key: str) -> bool:
        stale = datetime.now(UTC) - timedelta(seconds=CLAIM_STALE_SECONDS)
        async with self.uow(write=True) as tx:
            taken = await tx.idempotency.take_over(
                user_id=self.principal.user_id, scope=self.scope, key=key, claimed_before=stale
            )
            if taken:
                await tx.commit()
        return taken

    async def release(self, key: str) -> None:
        try:
            async with self.uow(write=True) as tx:
                await tx.idempotency.release(
                    user_id=self.principal.user_id, scope=self.scope, key=key
                )
                await tx.commit()
        except Exception as exc:  # the first error is the answer; the claim goes stale instead
            log.warning("could not release a payment's Idempotency-Key (%s)", type(exc).__name__)

    async def charge_and_record(self) -> PaidOrder:
        """Write the intent, charge under its key, record the answer, mark the order paid,
        capture: a crash between any two steps leaves a payment the reconciler finishes."""
        order = await self.order_book.payable(self.principal, self.order_id)
        intent = await payment_intents.open_intent(
            self.uow, order_id=order.id, amount=order.total_amount, card_last4=self.card.last4
        )
        # The gateway is another company's service: its time is the trace's to show.
        with self.tracer.span(
            "payment gateway charge", attributes={"cloudmall.order_id": order.id}
        ):
            result = await self.gateway.charge(
                amount=order.total_amount,
                currency=self.currency,
                card=self.card,
                intent_key=intent.intent_key,
            )
        charged = await payment_intents.record_answer(self.uow, self.metrics, intent, result)
        if charged is None:
            await self.settled_by_reconciler(intent, result)
        if not result.approved:
            raise PaymentDeclined(result.decline_reason)
        assert charged is not None
        try:
            settled = await payment_intents.settle_charged(
                self.uow,
                self.gateway,
                self.metrics,
                charged,
                mark_paid=self.mark_paid,
                user_id=order.user_id,
                also=self.complete_key,
            )
        except (DependencyUnavailable, RetryableConflict):
            # Cut off: the orders context may have paid the order. The charge stays `charged`
            # and the reconciler asks again with its reference, which settles it either way.
            log.warning("order %d: its payment waits for the reconciler", order.id)
            raise
        if settled.refusal is not None:  # cancelled, expired, or paid by another payment
            raise settled.refusal
        if settled.payment.status is PaymentStatus.REFUNDED:
            raise PaymentRefunded(
                "The order was cancelled while it was being paid; the charge was refunded"
            )
        assert settled.order is not None
        return PaidOrder(settled.order, settled.payment, False)

    async def settled_by_reconciler(self, intent: Payment, result: ChargeResult) -> None:
        """The intent was no longer pending when the gateway answered: the reconciler reached
        it first (a charge slower than its grace). Abandoned (it found no charge yet): a charge
        made since is given back. Otherwise it carries the payment on."""
        async with self.uow() as tx:
            now = await payment_intents.current(tx, intent)
        if now.status is PaymentStatus.ABANDONED and result.approved:
            await self.gateway.refund(reference=result.reference, amount=intent.amount)
            self.metrics.payment("refunded")
        raise PaymentInProgress(
            "The payment took too long and is being settled; check the order again shortly"
        )

    async def mark_paid(self, order_id: int, reference: str) -> Order:
        """OrderBook.mark_paid, asked again with the same reference (it answers a repeat as it
        did the first time) while the orders context cannot be reached, for up to
        MARK_PAID_PATIENCE_SECONDS: its answer decides between capturing and refunding."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MARK_PAID_PATIENCE_SECONDS
        while True:
            try:
                return await self.order_book.mark_paid(order_id, payment_reference=reference)
            except DependencyUnavailable:
                if loop.time() >= deadline:
                    raise
                log.warning("order %d: its payment waits for the orders context", order_id)
                await asyncio.sleep(MARK_PAID_RETRY_SECONDS)

    async def complete_key(self, tx: UnitOfWork, paid: Order, payment: Payment) -> None:
        """The key's answer, in the capture's transaction: a repeat gets the same answer
        (captured by the reconciler first: the same answer too)."""
        if self.key is not None:
            first = {"order": order_to_dict(paid), "payment": payment_to_dict(payment)}
            await tx.idempotency.complete(
                user_id=self.principal.user_id,
                scope=self.scope,
                key=self.key,
                response=json.dumps(first),
            )


async def order_payments(
    *, uow: UnitOfWorkFactory, order_book: OrderBook, principal: Principal, order_id: int
) -> list[Payment]:
    """The payments of an order the caller may see: its settled charges (captured or
    refunded), not the intents still on their way or those that charged nothing."""
    await order_book.visible(principal, order_id)
    async with uow() as tx:
        return [p for p in await tx.payments.for_order(order_id) if p.status in VISIBLE]


async def refund_order_payment(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    metrics: Metrics,
    order_id: int,
    reason: str,
    user_id: int | None,
) -> bool:
    """Refund the order's standing charges (`charged` or `captured`) at the gateway and record
    them, once each; False if it has none (see ports.PaymentDesk.refund_order). A `charged`
    one is refunded too: its order is paid and its payer has not captured it yet (it will
    answer `payment_refunded`), or it is a second charge its order will refuse — every charge
    of a cancelled order goes back, whichever payment paid it."""

    async def attempt() -> int:
        refunded = 0
        async with uow(write=True) as tx:
            for payment in await tx.payments.for_order(order_id):
                if payment.status in REFUNDABLE and await payment_intents.refund_in(
                    tx, gateway, payment, reason, user_id=user_id
                ):
                    refunded += 1
            if refunded:
                await tx.commit()
        return refunded

    refunded = await with_retries(attempt)
    for _ in range(refunded):
        metrics.payment("refunded")
    return refunded > 0


def _replayed(answer: dict[str, Any]) -> PaidOrder:
    return PaidOrder(order_from_dict(answer["order"]), payment_from_dict(answer["payment"]), True)
