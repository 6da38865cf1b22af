"""A payment's steps through its lifecycle (domain.payments), each its own transaction, shared
by the payer (services.payments) and the reconciler (services.payment_reconciler).

Every step is a conditional move from the status the payment was read in: of a payer and the
reconciler (or a cancel) reaching the same payment, one moves it and the other learns it lost.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from cloudmall.domain import events
from cloudmall.domain.errors import CloudmallError, DependencyUnavailable
from cloudmall.domain.orders import Order
from cloudmall.domain.payments import (
    REFUNDABLE,
    ChargeResult,
    Payment,
    PaymentStatus,
    check_transition,
)
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import (
    Metrics,
    PaymentGateway,
    RetryableConflict,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id

log = logging.getLogger(__name__)


def new_intent_key() -> str:
    """A key no other charge has: `pi_` and 32 hex digits."""
    return f"pi_{secrets.token_hex(16)}"


async def open_intent(
    uow: UnitOfWorkFactory, *, order_id: int, amount: Decimal, card_last4: str
) -> Payment:
    """Write the intent (`pending`) in its own transaction, before the gateway is asked."""

    async def attempt() -> Payment:
        async with uow(write=True) as tx:
            payment = await tx.payments.add(
                order_id=order_id, amount=amount, intent_key=new_intent_key(), card_last4=card_last4
            )
            await tx.commit()
        return payment

    return await with_retries(attempt)


async def move(
    tx: UnitOfWork, payment: Payment, target: PaymentStatus, *, reference: str | None = None
) -> Payment | None:
    """The payment moved to `target` in `tx` (not committed); None if it had moved meanwhile."""
    check_transition(payment.status, target)
    if not await tx.payments.transition(payment, target, provider_reference=reference):
        return None
    return replace(
        payment, status=target, provider_reference=reference or payment.provider_reference
    )


async def current(tx: UnitOfWork, payment: Payment) -> Payment:
    """The payment as it is now, read in `tx`."""
    for found in await tx.payments.for_order(payment.order_id):
        if found.id == payment.id:
            return found
    raise LookupError(f"payment {payment.id} is gone")


async def record_answer(
    uow: UnitOfWorkFactory, metrics: Metrics, payment: Payment, result: ChargeResult
) -> Payment | None:
    """The gateway's answer to a `pending` payment: `charged` with its reference, or
    `declined` (with `payment.declined`); None if the payment was no longer pending (the
    reconciler settled it first)."""

    async def attempt() -> Payment | None:
        async with uow(write=True) as tx:
            if result.approved:
                moved = await move(tx, payment, PaymentStatus.CHARGED, reference=result.reference)
            else:
                moved = await move(tx, payment, PaymentStatus.DECLINED)
                if moved is not None:
                    await tx.outbox.add(
                        [
                            events.payment_declined(
                                payment.order_id,
                                payment.amount,
                                result.decline_reason,
                                request_id=current_request_id.get(),
                            )
                        ]
                    )
            if moved is not None:
                await tx.commit()
        if moved is not None and not result.approved:
            metrics.payment("declined")
        return moved

    return await with_retries(attempt)


async def capture_in(tx: UnitOfWork, payment: Payment) -> Payment | None:
    """`charged` → `captured` with `payment.captured`, in `tx`; None if it had moved."""
    captured = await move(tx, payment, PaymentStatus.CAPTURED)
    if captured is not None:
        request_id = current_request_id.get()
        await tx.outbox.add([events.payment_captured(captured, request_id=request_id)])
    return captured


async def refund_in(
    tx: UnitOfWork, gateway: PaymentGateway, payment: Payment, reason: str, *, user_id: int | None
) -> Payment | None:
    """A `charged` or `captured` payment → `refunded`, the gateway asked while the transaction
    holds the payment's row (a second refund waits, then finds it refunded; a gateway that
    fails changes nothing), with `payment.refunded`; None if it had moved. The gateway's refund
    is idempotent by reference, so a commit lost after it cannot refund twice either. `user_id`:
    the order's buyer, for the refund's mail (None: the caller cannot say; no mail)."""
    assert payment.status in REFUNDABLE and payment.provider_reference is not None
    refunded = await move(tx, payment, PaymentStatus.REFUNDED)
    if refunded is None:
        return None
    await gateway.refund(reference=payment.provider_reference, amount=payment.amount)
    await tx.outbox.add(
        [
            events.payment_refunded(
                payment.order_id,
                payment.amount,
                payment.provider_reference,
                reason,
                user_id=user_id,
                request_id=current_request_id.get(),
            )
        ]
    )
    return refunded


async def refund(
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    metrics: Metrics,
    payment: Payment,
    reason: str,
    *,
    user_id: int | None,
) -> Payment | None:
    """`refund_in` in its own transaction; None if the payment had moved (another refunded
    it, or it was captured meanwhile: the caller reads it again)."""

    async def attempt() -> Payment | None:
        async with uow(write=True) as tx:
            refunded = await refund_in(tx, gateway, payment, reason, user_id=user_id)
            if refunded is not None:
                await tx.commit()
        return refunded

    refunded = await with_retries(attempt)
    if refunded is not None:
        metrics.payment("refunded")
    return refunded


#: Asks the orders context to mark an order paid with a payment's reference (OrderBook.mark_paid).
MarkPaid = Callable[[int, str], Awaitable[Order]]
#: More to write in the capture's transaction, once the payment stands captured.
AlsoInCapture = Callable[[UnitOfWork, Order, Payment], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What settling a `charged` payment came to: `payment` as it stands after (captured or
    refunded); `moved`: this call made that move (False: another got there first); `order`:
    as marked paid, None if it refused the payment, and then `refusal` is why."""

    payment: Payment
    moved: bool
    order: Order | None = None
    refusal: CloudmallError | None = None


async def settle_charged(
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    metrics: Metrics,
    charged: Payment,
    *,
    mark_paid: MarkPaid,
    user_id: int | None,
    also: AlsoInCapture | None = None,
) -> Settlement:
    """A `charged` payment's order marked paid with its reference, then the payment captured
    (`also` written in the capture's transaction, whoever captured it); the order refusing it
    (cancelled, expired, paid by another payment) → refunded. The payer and the reconciler
    both settle this way and may race: "captured" is counted only by the one whose
    conditional `charged → captured` took. The orders context unreachable
    (DependencyUnavailable, RetryableConflict): raised, the payment left `charged`."""
    assert charged.provider_reference is not None
    try:
        order = await mark_paid(charged.order_id, charged.provider_reference)
    except (DependencyUnavailable, RetryableConflict):
        raise
    except CloudmallError as refused:
        reason = "order_not_pending"
        refunded = await refund(uow, gateway, metrics, charged, reason, user_id=user_id)
        if refunded is not None:
            return Settlement(refunded, moved=True, refusal=refused)
        async with uow() as tx:  # refunded by a cancel meanwhile
            return Settlement(await current(tx, charged), moved=False, refusal=refused)

    async def attempt() -> Settlement:
        async with uow(write=True) as tx:
            payment = await capture_in(tx, charged)
            moved = payment is not None
            if payment is None:
                payment = await current(tx, charged)
                if payment.status is PaymentStatus.REFUNDED:
                    return Settlement(payment, moved=False, order=order)
                if payment.status is not PaymentStatus.CAPTURED:
                    raise RetryableConflict(f"payment {charged.id} is {payment.status}")
            if also is not None:
                await also(tx, order, payment)
            await tx.commit()
        return Settlement(payment, moved=moved, order=order)

    settled = await with_retries(attempt)
    if settled.moved:
        metrics.payment("captured")
    return settled
