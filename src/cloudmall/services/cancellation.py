"""Cancelling an order: a pending one gives its units back; a paid, not yet shipped one also
has its charge refunded. Either happens once, however often it is asked for and by whom."""

from __future__ import annotations

from collections.abc import Mapping

from cloudmall.domain import events
from cloudmall.domain.errors import InvalidTransition
from cloudmall.domain.orders import Order, OrderStatus, check_transition
from cloudmall.domain.payments import PaymentStatus
from cloudmall.domain.products import Product
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.idempotency import with_retries
from cloudmall.services.orders import require_admin, visible_order
from cloudmall.services.ports import (
    Metrics,
    PaymentGateway,
    Principal,
    RetryableConflict,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id


async def cancel_order(
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    gateway: PaymentGateway,
    metrics: Metrics,
    principal: Principal,
    order_id: int,
) -> Order:
    """Cancel a pending order, or a paid one not shipped yet (refunding its charge), and give
    its units back to stock. An order cancelled already is the answer as it is.

    The refund is asked of the gateway inside the transaction that cancels the order, while it
    holds the order's row: a second request (a retry, staff and customer at once) waits, then
    finds the order cancelled; if the gateway fails, nothing changes. The gateway's refund is
    idempotent by reference, so a commit lost after it cannot refund twice either.
    """

    async def attempt() -> Order:
        async with uow(write=True) as tx:
            order = await visible_order(tx, principal, order_id)
            if order.status is OrderStatus.CANCELLED:
                return order
            check_transition(order.status, OrderStatus.CANCELLED)
            if not await tx.orders.transition(order_id, order.status, OrderStatus.CANCELLED):
                # Moved meanwhile: a fresh transaction sees to what (cancelled: the answer).
                raise RetryableConflict(f"order {order_id} changed while being cancelled")
            cancelled = await tx.orders.get(order_id)
            assert cancelled is not None
            await tx.outbox.add(
                [events.order_moved(cancelled, request_id=current_request_id.get())]
            )
            refunded = order.status is OrderStatus.PAID and await _refund(tx, gateway, order)
            before = await _return_stock(tx, cancelled, reason="refund" if refunded else "cancel")
            await tx.commit()
        if refunded:
            metrics.payment("refunded")
        back_in_stock = any(product.stock_quantity == 0 for product in before.values())
        await cache.invalidate_stock(
            sorted(line.product_id for line in order.lines), availability_changed=back_in_stock
        )
        return cancelled

    return await with_retries(attempt)


async def refund_order(
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    gateway: PaymentGateway,
    metrics: Metrics,
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
        uow=uow,
        cache=cache,
        gateway=gateway,
        metrics=metrics,
        principal=principal,
        order_id=order_id,
    )


async def _refund(tx: UnitOfWork, gateway: PaymentGateway, order: Order) -> bool:
    """Refund the order's captured payment at the gateway and record it; False if none."""
    for payment in await tx.payments.for_order(order.id):
        if payment.status is PaymentStatus.CAPTURED and await tx.payments.mark_refunded(payment.id):
            await gateway.refund(reference=payment.provider_reference, amount=payment.amount)
            await tx.outbox.add(
                [
                    events.payment_refunded(
                        order.id,
                        payment.amount,
                        payment.provider_reference,
                        "requested",
                        request_id=current_request_id.get(),
                    )
                ]
            )
            return True
    return False


async def _return_stock(tx: UnitOfWork, order: Order, *, reason: str) -> Mapping[int, Product]:
    """Give the order's units back to stock, recording each product's change; the products as
    they were before."""
    product_ids = sorted(line.product_id for line in order.lines)
    before = await tx.products.get_many(product_ids, lock=True)
    stock = {product_id: product.stock_quantity for product_id, product in before.items()}
    returned: list[events.Event] = []
    for line in sorted(order.lines, key=lambda line: line.product_id):
        await tx.products.return_stock(line.product_id, line.quantity)
        if line.product_id in stock:
            stock[line.product_id] += line.quantity
        else:  # taken off sale since (not locked, not in `before`): its count as it is now
            product = await tx.products.get(line.product_id)
            stock[line.product_id] = product.stock_quantity if product else line.quantity
        returned.append(
            events.stock_changed(
                line.product_id,
                delta=line.quantity,
                stock=stock[line.product_id],
                reason=reason,
                order_id=order.id,
                request_id=current_request_id.get(),
            )
        )
    await tx.outbox.add(returned)
    return before
