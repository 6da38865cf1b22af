"""Domain events: every change the shop makes, as a versioned, self-describing record.

One envelope serves every reader of the outbox (the data lake, mail, the services' broker): an
id (a UUID, the reader's key for handling an event once), the type and its schema version, when
it happened, the aggregate it belongs to, a JSON payload (amounts as strings of cents-exact
decimals), the request that caused it, when there was one, and the W3C `traceparent` of the
work that recorded it (filled as the outbox writes it, when tracing is on), which a reader's
handling continues.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.payments import Payment
from cloudmall.domain.products import Product
from cloudmall.domain.users import User


@dataclass(frozen=True, slots=True)
class EventType:
    """A kind of event, the aggregate it is about, and its payload's schema version."""

    name: str
    aggregate: str
    version: int = 1


USER_SIGNED_UP = EventType("user.signed_up", "user")
# Carries the account's id alone: the mail reader mints the link when it sends the mail, so no
# token ever lands in the outbox, the lake or a log.
PASSWORD_RESET_REQUESTED = EventType("user.password_reset_requested", "user")
# What an account may do changed (its role; its password, which ends its tokens): the services
# without the accounts learn it from this (services/access_board.py).
USER_ACCESS_CHANGED = EventType("user.access_changed", "user")
PRODUCT_CREATED = EventType("product.created", "product")
PRODUCT_PRICE_CHANGED = EventType("product.price_changed", "product")
PRODUCT_STOCK_CHANGED = EventType("product.stock_changed", "product")
ORDER_PLACED = EventType("order.placed", "order")
ORDER_PAID = EventType("order.paid", "order")
ORDER_CANCELLED = EventType("order.cancelled", "order")
ORDER_SHIPPED = EventType("order.shipped", "order")
ORDER_DELIVERED = EventType("order.delivered", "order")
# Payment events are keyed by the order they pay (a declined attempt leaves no payment row).
PAYMENT_CAPTURED = EventType("payment.captured", "payment")
PAYMENT_DECLINED = EventType("payment.declined", "payment")
# Version 2 names the buyer (`user_id`): the users service mails the refund without the orders
# context's tables (version 1 events carry none).
PAYMENT_REFUNDED = EventType("payment.refunded", "payment", version=2)
# The products context released a reservation nobody sold in time (its order is to be cancelled).
STOCK_RESERVATION_EXPIRED = EventType("stock.reservation_expired", "reservation")

#: Every event type by name: the schema the lake's tables and the readers rely on.
EVENT_TYPES: Mapping[str, EventType] = {
    kind.name: kind
    for kind in (
        USER_SIGNED_UP,
        PASSWORD_RESET_REQUESTED,
        USER_ACCESS_CHANGED,
        PRODUCT_CREATED,
        PRODUCT_PRICE_CHANGED,
        PRODUCT_STOCK_CHANGED,
        ORDER_PLACED,
        ORDER_PAID,
        ORDER_CANCELLED,
        ORDER_SHIPPED,
        ORDER_DELIVERED,
        PAYMENT_CAPTURED,
        PAYMENT_DECLINED,
        PAYMENT_REFUNDED,
        STOCK_RESERVATION_EXPIRED,
    )
}

#: The event an order's move to each status records.
STATUS_EVENTS: Mapping[OrderStatus, EventType] = {
    OrderStatus.PAID: ORDER_PAID,
    OrderStatus.CANCELLED: ORDER_CANCELLED,
    OrderStatus.SHIPPED: ORDER_SHIPPED,
    OrderStatus.DELIVERED: ORDER_DELIVERED,
}


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, in the envelope every reader shares."""

    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    payload: Mapping[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    request_id: str | None = None
    traceparent: str | None = None


def new_event(
    kind: EventType,
    aggregate_id: int | str,
    payload: Mapping[str, Any],
    *,
    request_id: str | None = None,
    occurred_at: datetime | None = None,
    traceparent: str | None = None,
) -> Event:
    return Event(
        type=kind.name,
        version=kind.version,
        aggregate_type=kind.aggregate,
        aggregate_id=str(aggregate_id),
        payload=payload,
        occurred_at=occurred_at or datetime.now(UTC),
        request_id=request_id,
        traceparent=traceparent,
    )


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def user_signed_up(user: User, *, request_id: str | None = None) -> Event:
    # No email or name: the lake holds no personal data (mail reads the account by its id).
    return new_event(
        USER_SIGNED_UP, user.id, {"user_id": user.id, "role": str(user.role)}, request_id=request_id
    )


def password_reset_requested(user_id: int, *, request_id: str | None = None) -> Event:
    return new_event(PASSWORD_RESET_REQUESTED, user_id, {"user_id": user_id}, request_id=request_id)


def user_access_changed(user_id: int, change: str, *, request_id: str | None = None) -> Event:
    """`change`: `role`, or `password` (changed, reset or set by an operator: older tokens end)."""
    return new_event(
        USER_ACCESS_CHANGED, user_id, {"user_id": user_id, "change": change}, request_id=request_id
    )


def product_created(product: Product, *, request_id: str | None = None) -> Event:
    return new_event(
        PRODUCT_CREATED,
        product.id,
        {
            "product_id": product.id,
            "name": product.name,
            "category": product.category,
            "price": _amount(product.price),
            "stock": product.stock_quantity,
        },
        request_id=request_id,
    )


def price_changed(product: Product, old_price: Decimal, *, request_id: str | None = None) -> Event:
    return new_event(
        PRODUCT_PRICE_CHANGED,
        product.id,
        {
            "product_id": product.id,
            "old_price": _amount(old_price),
            "price": _amount(product.price),
        },
        request_id=request_id,
    )


def stock_changed(
    product_id: int,
    *,
    delta: int,
    stock: int,
    reason: str,
    order_id: int | None = None,
    reservation_id: str | None = None,
    request_id: str | None = None,
) -> Event:
    """`delta` units in (+) or out (−) of stock, leaving `stock`; `reason`: restock | order |
    cancel | refund | expired. An order's units name its reservation (the order may not exist
    yet when they are reserved)."""
    payload: dict[str, Any] = {
        "product_id": product_id,
        "delta": delta,
        "stock": stock,
        "reason": reason,
        "order_id": order_id,
    }
    if reservation_id is not None:
        payload["reservation_id"] = reservation_id
    return new_event(PRODUCT_STOCK_CHANGED, product_id, payload, request_id=request_id)


def reservation_expired(reservation_id: str, *, request_id: str | None = None) -> Event:
    return new_event(
        STOCK_RESERVATION_EXPIRED,
        reservation_id,
        {"reservation_id": reservation_id},
        request_id=request_id,
    )


def order_placed(
    order: Order, *, request_id: str | None = None, traceparent: str | None = None
) -> Event:
    return new_event(
        ORDER_PLACED,
        order.id,
        {
            "order_id": order.id,
            "user_id": order.user_id,
            "amount": _amount(order.total_amount),
            "subtotal": _amount(order.goods_total),
            "delivery_fee": _amount(order.delivery_fee),
            "reservation_id": order.reservation_id,  # of its units, in the products context
            "lines": [
                {
                    "product_id": line.product_id,
                    "product_name": line.product_name,
                    "quantity": line.quantity,
                    "unit_price": _amount(line.unit_price),
                }
                for line in order.lines
            ],
        },
        request_id=request_id,
        occurred_at=order.created_at,  # so the lake's day of an order is the database's
        traceparent=traceparent,
    )


def order_moved(order: Order, *, request_id: str | None = None) -> Event:
    """The event of an order's move to its (new) status; a shipment names its carrier and
    tracking number."""
    payload: dict[str, Any] = {
        "order_id": order.id,
        "user_id": order.user_id,
        "amount": _amount(order.total_amount),
        "reservation_id": order.reservation_id,  # the products context releases it on cancel
    }
    if order.status is OrderStatus.SHIPPED and order.shipment is not None:
        payload["carrier"] = order.shipment.carrier
        payload["tracking_number"] = order.shipment.tracking_number
    return new_event(
        STATUS_EVENTS[order.status],
        order.id,
        payload,
        request_id=request_id,
        occurred_at=order.updated_at,
    )


def payment_captured(payment: Payment, *, request_id: str | None = None) -> Event:
    return new_event(
        PAYMENT_CAPTURED,
        payment.order_id,
        {
            "order_id": payment.order_id,
            "payment_id": payment.id,
            "amount": _amount(payment.amount),
            "reference": payment.provider_reference,
        },
        request_id=request_id,
    )


def payment_declined(
    order_id: int, amount: Decimal, reason: str, *, request_id: str | None = None
) -> Event:
    return new_event(
        PAYMENT_DECLINED,
        order_id,
        {"order_id": order_id, "amount": _amount(amount), "reason": reason},
        request_id=request_id,
    )


def payment_refunded(
    order_id: int,
    amount: Decimal,
    reference: str,
    reason: str,
    *,
    user_id: int | None,
    request_id: str | None = None,
) -> Event:
    """A charge given back to the order's buyer (`user_id`; None when the caller could not say
    who: no mail then); `reason`: order_not_pending (the order was no longer payable when the
    charge came back) | requested (a refund asked for)."""
    return new_event(
        PAYMENT_REFUNDED,
        order_id,
        {
            "order_id": order_id,
            "user_id": user_id,
            "amount": _amount(amount),
            "reference": reference,
            "reason": reason,
        },
        request_id=request_id,
    )
