"""Request and response bodies of the JSON API (pydantic)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.payments import Payment
from cloudmall.domain.users import User

MAX_QUANTITY = 1_000_000
Id = Annotated[int, Field(ge=1, le=2**62)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- accounts -------------------------------------------------------------------------------


class SignUpIn(ApiModel):
    email: EmailStr
    password: Password
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class LogInIn(ApiModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Password


class UserOut(ApiModel):
    id: int
    email: str
    name: str
    role: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> Self:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role.value,
            created_at=user.created_at,
        )


class TokenOut(ApiModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int
    user: UserOut


# --- catalogue ------------------------------------------------------------------------------


class ProductRow(ApiModel):
    """A product in the guide's column names (price as an exact decimal string)."""

    id: int
    name: str
    price: str
    description: str
    image_url: str | None
    thumbnail_url: str | None
    stock_quantity: int
    category: str
    created_at: datetime
    updated_at: datetime


class ProductIn(ApiModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    category: Annotated[str, StringConstraints(max_length=64)] = "general"
    stock_quantity: int = Field(default=0, ge=0, le=1_000_000)


class ProductPatch(ApiModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    price: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    category: Annotated[str, StringConstraints(max_length=64)] | None = None
    stock_quantity: int | None = Field(default=None, ge=0, le=1_000_000)


# --- orders ---------------------------------------------------------------------------------


class OrderItemIn(ApiModel):
    product_id: Id = Field(alias="productId")
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class PlaceOrderIn(ApiModel):
    """Either the guide's body `{userId, products, totalAmount}` or `{items: [...]}`.

    `products` lists product ids, one unit each (repeat an id for more). `totalAmount`, if sent,
    must equal the server's total. Any other field (status, prices, role...) is ignored.
    """

    items: list[OrderItemIn] | None = Field(default=None, max_length=100)
    products: list[Id] | None = Field(default=None, max_length=1000)
    user_id: Id | None = Field(default=None, alias="userId")
    total_amount: Decimal | None = Field(
        default=None, alias="totalAmount", ge=0, max_digits=14, decimal_places=2
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if (self.items is None) == (self.products is None):
            raise ValueError("send either 'items' or 'products' (not both)")
        return self

    def pairs(self) -> list[tuple[int, int]]:
        if self.items is not None:
            return [(item.product_id, item.quantity) for item in self.items]
        return [(product_id, 1) for product_id in self.products or []]


class OrderLineOut(ApiModel):
    product_id: int
    product_name: str
    quantity: int
    unit_price: str
    line_total: str


class OrderOut(ApiModel):
    id: int
    user_id: int
    status: OrderStatus
    total_amount: str
    lines: list[OrderLineOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> Self:
        return cls(
            id=order.id,
            user_id=order.user_id,
            status=order.status,
            total_amount=str(order.total_amount),
            lines=[
                OrderLineOut(
                    product_id=line.product_id,
                    product_name=line.product_name,
                    quantity=line.quantity,
                    unit_price=str(line.unit_price),
                    line_total=str(line.line_total),
                )
                for line in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class PlaceOrderOut(ApiModel):
    """The guide's answer `{success, orderId, message}`, plus the order."""

    success: bool
    orderId: int
    message: str
    order: OrderOut


class PayIn(ApiModel):
    card_number: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        alias="cardNumber"
    )


class PaymentOut(ApiModel):
    id: int
    order_id: int
    amount: str
    status: str
    card_last4: str
    created_at: datetime

    @classmethod
    def of(cls, payment: Payment) -> Self:
        return cls(
            id=payment.id,
            order_id=payment.order_id,
            amount=str(payment.amount),
            status=payment.status.value,
            card_last4=payment.card_last4,
            created_at=payment.created_at,
        )


class PayOut(ApiModel):
    order: OrderOut
    payment: PaymentOut


class OverviewOut(ApiModel):
    orders_today: int
    revenue_today: str
    low_stock: list[ProductRow]
    cache_hit_ratio: float | None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give."""
    return {status: {"model": ErrorOut} for status in statuses}


class ErrorDetail(ApiModel):
    code: str
    message: str
    details: dict[str, object] | None = None


class ErrorOut(ApiModel):
    error: ErrorDetail


#: The answer of a route that reads a body, when the body cannot even be parsed.
UNREADABLE_BODY: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorOut,
        "description": "The body cannot be read (JSON not in UTF-8, a broken multipart form)",
    }
}
