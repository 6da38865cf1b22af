"""Cancelling an order: a pending one gives its units back; a paid, not yet shipped one also
has its charge refunded. Either happens once, however often it is asked for and by whom.

The orders context cancels; the payments context refunds (ports.PaymentDesk) and the products
context gives the units back (ports.StockDesk), each in its own transactions
(docs/microservices.md, the order saga).
"""

from __future__ import annotations

import logging

from cloudmall.domain import events
from cloudmall.domain.errors import InvalidTransition
from cloudmall.domain.orders import Order, OrderStatus, check_transition
from cloudmall.services.idempotency import with_retries
from cloudmall.services.orders import release_reservations, require_admin, visible_order
from cloudmall.services.ports import (
    PaymentDesk,
    Principal,
    RetryableConflict,
    StockDesk,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id

log = logging.getLogger(__name__)


async def cancel_order(
    *,
    uow: UnitOfWorkFactory,
    stock: StockDesk,
    payment_desk: PaymentDesk,
    principal: Principal,
    order_id: int,
) -> Order:
    """Cancel a pending order, or a paid one not shipped yet (refunding its charge), and give
    its units back to stock. An order cancelled already is the answer as it is.

    A paid order's charge is refunded first (once, by the payments context, however many ask
    at once); then the order moves to cancelled with `order.cancelled`; then its reservation is
    released. A release lost to a failure here still happens: the products context's `stock`
    reader releases it on `order.cancelled`.
    """

    refunded = False

    async def attempt() -> tuple[Order, OrderStatus]:
        nonlocal refunded
        async with uow() as tx:
            order = await visible_order(tx, principal, order_id)
        if order.status is OrderStatus.CANCELLED:
            return order, order.status
        check_transition(order.status, OrderStatus.CANCELLED)
        if order.status is OrderStatus.PAID and not refunded:
            await _refund_paid(payment_desk, order)
            refunded = True
        async with uow(write=True) as tx:
            cancelled = await _cancel(tx, order)
            await tx.commit()
        return cancelled, order.status

    cancelled, was = await with_retries(attempt)
    if was is not OrderStatus.CANCELLED and cancelled.reservation_id is not None:
        reason = "refund" if was is OrderStatus.PAID else "cancel"
        await release_reservations(stock, [cancelled.reservation_id], reason=reason)
    return cancelled


async def _refund_paid(payment_desk: PaymentDesk, order: Order) -> None:
    """Refund a paid order's charge. Its payment is recorded (`charged`) before the orders
    context marks the order paid, so a paid order always has one to refund."""
    if not await payment_desk.refund_order(order.id, reason="requested", user_id=order.user_id):
        log.error("order %d is paid but no standing charge of it was found", order.id)


async def _cancel(tx: UnitOfWork, order: Order) -> Order:
    """Move the order from the status it was read in to cancelled, with `order.cancelled`."""
    if not await tx.orders.transition(order.id, order.status, OrderStatus.CANCELLED):
        # Moved meanwhile: a fresh attempt sees to what (paid: refunded; cancelled: the answer).
        raise RetryableConflict(f"order {order.id} changed while being cancelled")
    cancelled = await tx.orders.get(order.id)
    assert cancelled is not None
    await tx.outbox.add([events.order_moved(cancelled, request_id=current_request_id.get())])
    return cancelled


async def refund_order(
    *,
    uow: UnitOfWorkFactory,
    stock: StockDesk,
    payment_desk: PaymentDesk,
    principal: Principal,
    order_id: int,
) -> Order:
    """Staff refunds a paid order that has not been shipped (it is cancelled, its units back)."""
    require_admin(principal)
    async with uow() as tx:
        order = await visible_order(tx, principal, order_id)
    if order.status is OrderStatus.PENDING:
        raise InvalidTransition("A pending order has not been paid: there is nothing to refund")
    return await cancel_order(
        uow=uow, stock=stock, payment_desk=payment_desk, principal=principal, order_id=order_id
    )


async def cancel_unpaid(uow: UnitOfWorkFactory, reservation_id: str) -> Order | None:
    """Cancel the pending order holding this reservation (released: expired); None if there is
    none, or it is not pending (paid, or cancelled already). Its units are back already."""

    async def attempt() -> Order | None:
        async with uow(write=True) as tx:
            cancelled = await cancel_unpaid_in(tx, reservation_id)
            await tx.commit()
            return cancelled

    return await with_retries(attempt)


async def cancel_unpaid_in(tx: UnitOfWork, reservation_id: str) -> Order | None:
    """cancel_unpaid in `tx` (the caller commits)."""
    order = await tx.orders.by_reservation(reservation_id)
    if order is None or order.status is not OrderStatus.PENDING:
        return None
    return await _cancel(tx, order)


def expired_reservation(event: events.Event) -> str | None:
    """The reservation a `stock.reservation_expired` names (None for other events)."""
    if event.type != events.STOCK_RESERVATION_EXPIRED.name:
        return None
    reservation_id = event.payload.get("reservation_id")
    return reservation_id if isinstance(reservation_id, str) and reservation_id else None


async def handle_stock_event(uow: UnitOfWorkFactory, event: events.Event) -> None:
    """The orders context's reader of the products context's events: the pending order whose
    reservation expired is cancelled (once, however often the event comes; a paid one stays)."""
    reservation_id = expired_reservation(event)
    if reservation_id and await cancel_unpaid(uow, reservation_id) is not None:
        log.info("cancelled an order whose reservation expired")
