"""The bodies of the internal routes between services (`/internal/v1/...`). Field names are the
domain dataclasses' own, which adapters/http/wire.py reads back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cloudmall.domain.orders import MAX_LINE_QUANTITY, MAX_LINES, OrderStatus
from cloudmall.domain.reservations import ReservationStatus
from cloudmall.domain.users import Role

#: The most orders one group transaction holds (services.order_desk.MAX_GROUP is 64).
MAX_REQUESTS = 256
ReservationId = Field(min_length=1, max_length=128)


class _Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class PricesIn(_Model):
    product_ids: list[int] = Field(min_length=1, max_length=MAX_LINES)


class PriceOut(_Model):
    product_id: int
    price: Decimal


class PricesOut(_Model):
    prices: list[PriceOut]  # a product that does not exist is left out


class UnitsIn(_Model):
    product_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=MAX_LINE_QUANTITY)


class ReservationRequestIn(_Model):
    id: str = ReservationId
    quantities: list[UnitsIn] = Field(min_length=1, max_length=MAX_LINES)


class ReserveIn(_Model):
    requests: list[ReservationRequestIn] = Field(min_length=1, max_length=MAX_REQUESTS)


class ReservedLineOut(_Model):
    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int


class ReservationOut(_Model):
    id: str
    status: ReservationStatus
    lines: list[ReservedLineOut]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime


class ReserveResultOut(_Model):
    """One request's answer: its reservation, or why it was refused (domain.error_wire)."""

    reservation: ReservationOut | None = None
    error: dict[str, Any] | None = None


class ReserveOut(_Model):
    results: list[ReserveResultOut]


class ReleaseIn(_Model):
    reason: str = Field(min_length=1, max_length=32)


class ReleaseOut(_Model):
    reservation: ReservationOut | None  # None: no such reservation (nothing was taken)


class LowStockIn(_Model):
    threshold: int = Field(ge=0)


class ProductOut(_Model):
    """A product whole, as the products context holds it."""

    id: int
    name: str
    price: Decimal
    description: str
    category: str
    stock_quantity: int
    image_key: str | None
    created_at: datetime
    updated_at: datetime
    name_en: str | None
    description_en: str | None
    list_price: Decimal | None
    category_name: str | None
    category_name_en: str | None


class LowStockOut(_Model):
    products: list[ProductOut]


class PrincipalIn(_Model):
    user_id: int = Field(gt=0)
    role: Role
    token_version: int = Field(ge=0)


class ActingIn(_Model):
    """Whom a call acts for (the caller checked the token; the secret vouches for the caller)."""

    principal: PrincipalIn


class MarkPaidIn(_Model):
    payment_reference: str = Field(min_length=1, max_length=128)


class OrderLineOut(_Model):
    product_id: int
    product_name: str
    quantity: int
    unit_price: Decimal


class AddressOut(_Model):
    recipient: str
    phone: str
    postal_code: str
    address1: str
    address2: str


class SavedAddressIn(_Model):
    user_id: int = Field(gt=0)


class SavedAddressOut(_Model):
    address: AddressOut | None  # None: the user has no address by this id


class ShipmentOut(_Model):
    carrier: str
    tracking_number: str


class InternalOrderOut(_Model):
    """An order whole, as the orders context holds it."""

    id: int
    user_id: int
    status: OrderStatus
    total_amount: Decimal
    lines: list[OrderLineOut]
    created_at: datetime
    updated_at: datetime
    subtotal: Decimal | None
    delivery_fee: Decimal
    address: AddressOut | None
    shipment: ShipmentOut | None
    reservation_id: str | None


class RefundIn(_Model):
    reason: str = Field(min_length=1, max_length=64)
    # The order's buyer, for the refund's mail; an orders service older than the field sends
    # none (its refunds are mailed to no one).
    user_id: int | None = Field(default=None, gt=0)


class RefundOut(_Model):
    refunded: bool  # False: the order had no captured payment
