"""The payments context's reconciler: finishes the payments a crash or a cut-off left on their
way (`pending` or `charged`), from what the gateway recorded under their intent keys.

- `pending`, the gateway made no charge under its key → `abandoned`; it declined → `declined`;
  it charged → `charged`, and on as below.
- `charged` → `OrderBook.mark_paid(order, reference)` (idempotent per reference: a payer still
  at it gets the same answer) → `captured` with `payment.captured`; refused (the order was
  cancelled, expired, or paid by another payment) → refunded with `payment.refunded`; the
  orders context unreachable → left for the next round.

Only payments unchanged for `grace_seconds` are its: longer than any payer takes (the gateway's
timeout and the wait for the orders context), so it does not race one at work — and if it
does, every step is a conditional move, so one of them settles each payment once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloudmall.domain.errors import DependencyUnavailable
from cloudmall.domain.orders import Order
from cloudmall.domain.payments import Payment, PaymentStatus
from cloudmall.services import payment_intents
from cloudmall.services.follow_loop import Backoff, follow_counting, utc_now
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import (
    Metrics,
    OrderBook,
    PaymentGateway,
    RetryableConflict,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

#: Payments looked at per round (each asks the gateway, and the orders context if charged).
RECONCILE_BATCH = 50
#: How often a server process hosting the payments context reconciles.
RECONCILE_SECONDS = 30.0
RECONCILE_MAX_DELAY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class PaymentReconciler:
    """Settles the payments left unsettled (`cloudmall payments reconcile` runs it once)."""

    uow: UnitOfWorkFactory
    gateway: PaymentGateway
    order_book: OrderBook
    metrics: Metrics
    grace_seconds: float
    clock: Callable[[], datetime] = utc_now

    async def run_once(self) -> int:
        """Settle every payment unchanged for the grace period, a batch at a time; how many
        were settled (those waiting for the orders context are left for the next run)."""
        before = self.clock() - timedelta(seconds=self.grace_seconds)
        settled = 0
        seen: set[int] = set()
        while True:
            async with self.uow() as tx:
                batch = await tx.payments.unsettled(updated_before=before, limit=RECONCILE_BATCH)
            fresh = [p for p in batch if p.id not in seen]
            if not fresh:
                return settled
            for payment in fresh:
                seen.add(payment.id)
                if await self.settle(payment):
                    settled += 1

    async def settle(self, payment: Payment) -> bool:
        """One payment settled (True), or left as it is for now."""
        if payment.status is PaymentStatus.PENDING:
            result = await self.gateway.find(payment.intent_key)
            if result is None:
                return await self.abandon(payment)
            charged = await payment_intents.record_answer(self.uow, self.metrics, payment, result)
            if charged is None or not result.approved:
                return charged is not None
            payment = charged
        return await self.finish(payment)

    async def abandon(self, payment: Payment) -> bool:
        async def attempt() -> bool:
            async with self.uow(write=True) as tx:
                moved = await payment_intents.move(tx, payment, PaymentStatus.ABANDONED)
                if moved is not None:
                    await tx.commit()
            return moved is not None

        abandoned = await with_retries(attempt)
        if abandoned:
            log.info("payment %d of order %d: no charge, abandoned", payment.id, payment.order_id)
        return abandoned

    async def finish(self, charged: Payment) -> bool:
        """A `charged` payment settled (payment_intents.settle_charged) by this call."""
        try:
            settled = await payment_intents.settle_charged(
                self.uow,
                self.gateway,
                self.metrics,
                charged,
                mark_paid=self.mark_paid,
                user_id=None,
            )
        except (DependencyUnavailable, RetryableConflict) as exc:
            # The orders context did not answer, or the capture kept conflicting: still `charged`.
            log.warning("payment %d left for later: %s", charged.id, type(exc).__name__)
            return False
        refusal = settled.refusal
        if settled.moved and refusal is not None:
            log.info("payment %d refunded: its order refused it (%s)", charged.id, refusal.code)
        elif settled.moved:
            log.info("payment %d of order %d captured", charged.id, charged.order_id)
        return settled.moved

    async def mark_paid(self, order_id: int, reference: str) -> Order:
        return await self.order_book.mark_paid(order_id, payment_reference=reference)

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        await follow_counting(self.run_once, name="payment reconciler", backoff=backoff, stop=stop)
