"""Stock reservations: units an order holds by the reservation's id, until sold or released.

The products context keeps them; the orders and payments contexts reach them only by id (no
transaction crosses the boundary). Units are taken from stock when reserved, so for each product
stock + reserved + sold units always equal what the shop has received.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cloudmall.domain.errors import Conflict


class ReservationStatus(StrEnum):
    RESERVED = "reserved"  # held for a pending order, until it expires
    SOLD = "sold"  # the order was paid: the units are the customer's
    RELEASED = "released"  # given back to stock (cancelled, refunded, expired): once


#: Which status a reservation may move to from which (a release from sold is a refund's).
RESERVATION_TRANSITIONS: Mapping[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.RESERVED: frozenset({ReservationStatus.SOLD, ReservationStatus.RELEASED}),
    ReservationStatus.SOLD: frozenset({ReservationStatus.RELEASED}),
    ReservationStatus.RELEASED: frozenset(),
}


class ReservationExpired(Conflict):
    """The reservation was released (expired or cancelled): it can no longer be sold."""

    code = "reservation_expired"


@dataclass(frozen=True, slots=True)
class ReservedLine:
    product_id: int
    product_name: str  # as it was when reserved (the order keeps this copy)
    unit_price: Decimal  # the price when reserved
    quantity: int


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str  # chosen by the caller (the orders context), so a retry names the same one
    status: ReservationStatus
    lines: tuple[ReservedLine, ...]  # in product-id order
    expires_at: datetime  # while reserved; past it the sweeper releases it
    created_at: datetime
    updated_at: datetime

    @property
    def quantities(self) -> dict[int, int]:
        return {line.product_id: line.quantity for line in self.lines}
