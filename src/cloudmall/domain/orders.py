"""Orders, their lines, and the order state machine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cloudmall.domain.delivery import Address, Shipment
from cloudmall.domain.errors import InvalidInput, InvalidTransition, NotFound, OrderLimitExceeded
from cloudmall.domain.money import to_money
from cloudmall.domain.products import Product

#: The most different products one order holds, and units of one product in it. The API's schema
#: states these; a shop can set lower ones (CLOUDMALL_MAX_ORDER_LINES, CLOUDMALL_MAX_LINE_QUANTITY).
MAX_LINES = 50
MAX_LINE_QUANTITY = 100


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


ALLOWED_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    # paid → cancelled: cancelled before shipping, its charge refunded.
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

#: Statuses whose units count as sold (taken from stock and not given back).
LIVE_STATUSES = frozenset(
    {OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED}
)


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise InvalidTransition unless `current → target` is an edge of the state machine."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(f"An order that is {current} cannot become {target}")


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: int
    product_name: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return to_money(self.unit_price * self.quantity)


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    user_id: int
    status: OrderStatus
    total_amount: Decimal  # charged: the goods and the delivery fee
    lines: tuple[OrderLine, ...]
    created_at: datetime
    updated_at: datetime
    subtotal: Decimal | None = None  # the goods (None: the same as the total)
    delivery_fee: Decimal = Decimal("0.00")
    address: Address | None = None  # a copy, taken when given; None while pending
    shipment: Shipment | None = None
    # The products context's stock reservation holding its units (ports.StockDesk).
    reservation_id: str | None = None

    @property
    def goods_total(self) -> Decimal:
        return self.total_amount if self.subtotal is None else self.subtotal


def merge_items(
    items: Iterable[tuple[int, int]], *, max_lines: int, max_quantity: int
) -> dict[int, int]:
    """Combine (product_id, quantity) pairs into one quantity per product, checking the limits."""
    merged: dict[int, int] = {}
    for product_id, quantity in items:
        if quantity < 1:
            raise InvalidInput(f"Quantity for product {product_id} must be at least 1")
        merged[product_id] = merged.get(product_id, 0) + quantity
        if merged[product_id] > max_quantity:
            raise OrderLimitExceeded(
                f"At most {max_quantity} units of product {product_id} per order"
            )
    if not merged:
        raise InvalidInput("An order needs at least one product")
    if len(merged) > max_lines:
        raise OrderLimitExceeded(f"An order can hold at most {max_lines} different products")
    return merged


def price_lines(
    quantities: Mapping[int, int], products: Mapping[int, Product]
) -> tuple[tuple[OrderLine, ...], Decimal]:
    """Order lines in product-id order with today's prices, and their total."""
    lines = []
    for product_id in sorted(quantities):
        product = products.get(product_id)
        if product is None:
            raise NotFound(f"Product {product_id} does not exist")
        lines.append(
            OrderLine(
                product_id=product_id,
                product_name=product.name,
                quantity=quantities[product_id],
                unit_price=product.price,
            )
        )
    total = to_money(sum((line.line_total for line in lines), Decimal(0)))
    return tuple(lines), total
