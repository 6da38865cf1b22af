"""The request bodies of the internal routes between services (`/internal/v1/...`), checked as
every request is. What they answer with an order, a reservation or a product is its one wire form,
services.snapshots (adapters/http/desks.py reads it back with the same module)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from cloudmall.domain.orders import MAX_LINE_QUANTITY, MAX_LINES
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


class ReleaseIn(_Model):
    reason: str = Field(min_length=1, max_length=32)


class LowStockIn(_Model):
    threshold: int = Field(ge=0)


class PrincipalIn(_Model):
    user_id: int = Field(gt=0)
    role: Role
    token_version: int = Field(ge=0)


class ActingIn(_Model):
    """Whom a call acts for (the caller checked the token; the secret vouches for the caller)."""

    principal: PrincipalIn


class MarkPaidIn(_Model):
    payment_reference: str = Field(min_length=1, max_length=128)


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


class RefundIn(_Model):
    reason: str = Field(min_length=1, max_length=64)
    # The order's buyer, for the refund's mail; an orders service older than the field sends
    # none (its refunds are mailed to no one).
    user_id: int | None = Field(default=None, gt=0)


class RefundOut(_Model):
    refunded: bool  # False: the order had no captured payment
