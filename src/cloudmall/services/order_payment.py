"""The orders context's side of paying: which order may be paid, and marking it paid once."""

from __future__ import annotations

import json

from cloudmall.domain import events
from cloudmall.domain.errors import AddressRequired, InvalidTransition, NotFound
from cloudmall.domain.orders import Order, OrderStatus, check_transition
from cloudmall.domain.reservations import ReservationExpired
from cloudmall.services.cancellation import cancel_unpaid
from cloudmall.services.idempotency import with_retries
from cloudmall.services.orders import get_order
from cloudmall.services.ports import (
    NewIdempotencyRecord,
    Principal,
    RetryableConflict,
    StockDesk,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id
from cloudmall.services.snapshots import order_to_dict

#: The scope under which an order keeps the reference of the payment that paid it (its key is
#: the order's id): the same payment marking it paid again gets the same answer, another one
#: is refused.
PAID_SCOPE = "order-paid"


async def payable_order(*, uow: UnitOfWorkFactory, principal: Principal, order_id: int) -> Order:
    """The caller's order if it may be paid now (see ports.OrderBook.payable)."""
    order = await get_order(uow=uow, principal=principal, order_id=order_id)
    check_transition(order.status, OrderStatus.PAID)
    if order.address is None:
        raise AddressRequired("Add the order's delivery address before paying")
    return order


async def mark_order_paid(
    *, uow: UnitOfWorkFactory, stock: StockDesk, order_id: int, payment_reference: str
) -> Order:
    """`pending` → `paid` for the payment `payment_reference`, its reservation sold first (see
    ports.OrderBook.mark_paid). A reservation released meanwhile (expired) cancels the order
    too — it can never be paid — and answers ReservationExpired."""
    order = await _order(uow, order_id)
    if order.status is OrderStatus.PENDING and order.reservation_id is not None:
        try:
            await stock.confirm(order.reservation_id)
        except ReservationExpired:
            await cancel_unpaid(uow, order.reservation_id)
            raise

    async def attempt() -> Order:
        async with uow(write=True) as tx:
            current = await tx.orders.get(order_id)
            if current is None:
                raise NotFound(f"Order {order_id} does not exist")
            if current.status is not OrderStatus.PENDING:
                paid_by = await tx.idempotency.get(
                    user_id=current.user_id, scope=PAID_SCOPE, key=str(order_id)
                )
                if (
                    paid_by is not None
                    and paid_by.fingerprint == payment_reference
                    and current.status is not OrderStatus.CANCELLED
                ):
                    return current  # this payment marked it paid before
                # Cancelled since (its charge refunded): a payment asking again must not
                # take the answer for a paid order and capture a charge for nothing.
                raise InvalidTransition(f"The order is {current.status}; it cannot be paid")
            if not await tx.orders.transition(order_id, OrderStatus.PENDING, OrderStatus.PAID):
                raise RetryableConflict(f"order {order_id} moved while being paid")
            paid = await tx.orders.get(order_id)
            assert paid is not None
            await tx.outbox.add([events.order_moved(paid, request_id=current_request_id.get())])
            await tx.idempotency.save_many(
                [
                    NewIdempotencyRecord(
                        paid.user_id,
                        PAID_SCOPE,
                        str(order_id),
                        payment_reference,
                        json.dumps(order_to_dict(paid)),
                    )
                ]
            )
            await tx.commit()
            return paid

    return await with_retries(attempt)


async def _order(uow: UnitOfWorkFactory, order_id: int) -> Order:
    async with uow() as tx:
        order = await tx.orders.get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order
