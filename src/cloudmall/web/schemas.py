"""Request and response bodies of the JSON API (pydantic).

Request models state the rules the shop applies to each field (lengths, patterns, limits), so
the OpenAPI schema says what is accepted: a request it forbids gets 422, and one it allows is
refused only for what a schema cannot state, with the status of that reason: the shop's data
(404, or 409 for stock, prices, per-order limits), a declined card (402), or, with 422, rules no
pattern can state (the password policy; a category over 64 characters once lower-cased, which
only U+0130 can cause). Numbers are JSON numbers: `true` or `"5"` is not one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
)

from cloudmall.domain.delivery import (
    CARRIERS,
    MAX_ADDRESS_LINE,
    MAX_RECIPIENT,
    PHONE_PATTERN,
    POSTAL_CODE_PATTERN,
    TRACKING_NUMBER_PATTERN,
    Address,
    Quote,
    SavedAddress,
)
from cloudmall.domain.orders import MAX_LINE_QUANTITY, MAX_LINES, Order, OrderStatus
from cloudmall.domain.payments import Payment
from cloudmall.domain.users import User
from cloudmall.services import password_policy
from cloudmall.services.catalog import MAX_STOCK
from cloudmall.services.payments import CARD_NUMBER_PATTERN
from cloudmall.services.profile import MAX_PHONE_LENGTH, PHONE, Profile
from cloudmall.services.shop_info import ShopInfo
from cloudmall.web.fields import MAX_ID, NUMBER_ONLY, VISIBLE, ClientTotal, any_of_in_any_case

Id = Annotated[int, Field(ge=1, le=MAX_ID), NUMBER_ONLY]
Password = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
#: The password policy (services/password_policy.py) is more than a schema can state: every
#: refusal, the length included, is 422 `password_rejected` with a reason, never a field message.
NewPassword = Annotated[
    str,
    StringConstraints(max_length=4096),
    Field(
        description=f"at least {password_policy.MIN_LENGTH} characters (after Unicode NFKC), "
        "not only spaces, not the email or the shop's name, not a common or easily guessed "
        "password; otherwise 422 `password_rejected` with `details.reason`",
    ),
]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK), NUMBER_ONLY]
#: More than 0, at most 9 999 999 999.99, at most two decimals: `"12900"`, `"4500.50"`, `"0.5"`.
PRICE_PATTERN = r"[1-9][0-9]{0,9}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?)"
Price = Annotated[
    str,
    StringConstraints(pattern=f"^(?:{PRICE_PATTERN})$"),
    Field(description="an exact decimal string, more than 0", examples=["12900.00"]),
]
#: A new list price, or "0" to end the sale.
ListPriceChange = Annotated[
    str,
    StringConstraints(pattern=f"^(?:0|{PRICE_PATTERN})$"),
    Field(description='the price before a sale, above `price`; "0" ends the sale'),
]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- accounts -------------------------------------------------------------------------------


class ConsentIn(ApiModel):
    privacy: StrictBool = Field(
        default=False, description="개인정보 수집·이용 동의: agrees to the privacy policy"
    )
    terms: StrictBool = Field(default=False, description="이용약관: agrees to the terms of use")

    def agreed(self) -> frozenset[str]:
        return frozenset(name for name in ("privacy", "terms") if getattr(self, name))


Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE)]


class SignUpIn(ApiModel):
    """The guide's sign-up plus one field, `consent`: Korea's Personal Information Protection
    Act requires the customer's consent to collecting their data, so both documents must be
    agreed (`{"privacy": true, "terms": true}`) or the answer is 422 `consent_required`."""

    email: Annotated[
        EmailStr,
        Field(
            description="not at a special-use domain (.test, .local...)",
            json_schema_extra={
                "not": {"pattern": f"[.@]{any_of_in_any_case(SPECIAL_USE_DOMAIN_NAMES)}$"}
            },
        ),
    ]
    password: NewPassword
    name: Name
    consent: ConsentIn | None = Field(
        default=None,
        description="the documents agreed to, at the versions GET /api/shop/info names; "
        "both are required (422 `consent_required`, `details.missing`)",
    )
    language: Literal["ko", "en"] | None = Field(
        default=None,
        description="the storefront's language: the account's mails are written in it (default ko)",
    )

    def agreed(self) -> frozenset[str]:
        return self.consent.agreed() if self.consent else frozenset()


class LogInIn(ApiModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Password


class ChangePasswordIn(ApiModel):
    current_password: Password
    new_password: NewPassword


class PasswordResetIn(ApiModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]


class PasswordResetConfirmIn(ApiModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    new_password: NewPassword = Field(alias="newPassword")


class AcceptedOut(ApiModel):
    status: Literal["accepted"] = "accepted"


class RoleIn(ApiModel):
    role: Annotated[str, StringConstraints(pattern="^(customer|admin)$")]


class UserOut(ApiModel):
    id: int
    email: str
    name: str
    role: str
    language: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> Self:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role.value,
            language=user.language,
            created_at=user.created_at,
        )


class TokenOut(ApiModel):
    """An access token; the session's refresh token travels only in an HttpOnly cookie."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int
    user: UserOut
    # An initial password: every call but the password change answers 403
    # `password_change_required` until it is changed.
    password_change_required: bool = False


Phone = Annotated[
    str,
    StringConstraints(max_length=MAX_PHONE_LENGTH, pattern=f"(?:{PHONE.pattern})|^$"),
    Field(description='digits, spaces and hyphens, may start with +; "" clears it'),
]


class ConsentOut(ApiModel):
    document: str
    version: str
    agreed_at: datetime


class ProfileOut(ApiModel):
    email: str
    name: str
    phone: str
    consents: list[ConsentOut]

    @classmethod
    def of(cls, profile: Profile) -> Self:
        return cls(
            email=profile.user.email,
            name=profile.user.name,
            phone=profile.user.phone,
            consents=[
                ConsentOut(document=c.document.value, version=c.version, agreed_at=c.agreed_at)
                for c in profile.consents
            ],
        )


class ProfilePatch(ApiModel):
    """Only the fields sent change."""

    name: Name | None = None
    phone: Phone | None = None


class BusinessOut(ApiModel):
    name: str
    representative: str
    registration_number: str
    mail_order_number: str
    address: str
    phone: str
    email: str


class LegalOut(ApiModel):
    privacy_version: str
    terms_version: str


class ShopInfoOut(ApiModel):
    business: BusinessOut
    legal: LegalOut

    @classmethod
    def of(cls, info: ShopInfo) -> Self:
        b = info.business
        return cls(
            business=BusinessOut(
                name=b.name,
                representative=b.representative,
                registration_number=b.registration_number,
                mail_order_number=b.mail_order_number,
                address=b.address,
                phone=b.phone,
                email=b.email,
            ),
            legal=LegalOut(privacy_version=info.legal.privacy, terms_version=info.legal.terms),
        )


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
    name_en: str | None = Field(description="the English name; null: the storefront shows `name`")
    description_en: str | None
    list_price: str | None = Field(description="the price before a sale; null when not on sale")
    category_name: str | None = Field(description="the category's Korean name")
    category_name_en: str | None


class CategoryOut(ApiModel):
    """A category: `slug` is what products (`category`) and filters refer to."""

    id: int
    slug: str
    name: str
    name_en: str
    products: int = Field(description="products on sale in it")


CategoryName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE)]


class CategoryIn(ApiModel):
    """A Korean and an English name; the slug comes from the English one."""

    name: CategoryName
    name_en: CategoryName


ProductName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=VISIBLE)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Category = Annotated[str, StringConstraints(max_length=64)]


EnglishName = Annotated[str, StringConstraints(max_length=255)]


class ProductIn(ApiModel):
    name: ProductName
    price: Price
    description: Description = ""
    category: Category = Field(default="general", description="a category's slug")
    stock_quantity: Stock = 0
    name_en: EnglishName | None = None
    description_en: Description | None = None
    list_price: Price | None = Field(default=None, description="the price before a sale")


class ProductPatch(ApiModel):
    """Only the fields sent change; `null` leaves a field as it is."""

    name: ProductName | None = None
    price: Price | None = None
    description: Description | None = None
    category: Category | None = None
    stock_quantity: Stock | None = None
    name_en: EnglishName | None = Field(default=None, description='"" removes it')
    description_en: Description | None = Field(default=None, description='"" removes it')
    list_price: ListPriceChange | None = None


# --- orders ---------------------------------------------------------------------------------


class OrderItemIn(ApiModel):
    product_id: Id = Field(alias="productId")
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY), NUMBER_ONLY]


class AddressIn(ApiModel):
    """A Korean delivery address: 받는 분, 연락처, 우편번호 (5 digits), 기본주소, 상세주소."""

    recipient: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_RECIPIENT, pattern=VISIBLE)
    ]
    phone: Annotated[str, StringConstraints(pattern=PHONE_PATTERN)] = Field(
        examples=["010-1234-5678"]
    )
    postal_code: Annotated[str, StringConstraints(pattern=POSTAL_CODE_PATTERN)] = Field(
        alias="postalCode", examples=["06236"]
    )
    address1: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_ADDRESS_LINE, pattern=VISIBLE)
    ] = Field(
        description="기본주소: the road (or lot) address", examples=["서울 강남구 테헤란로 152"]
    )
    address2: Annotated[str, StringConstraints(max_length=MAX_ADDRESS_LINE)] = Field(
        default="", description="상세주소: building, floor, flat", examples=["12층"]
    )

    def address(self) -> Address:
        return Address(self.recipient, self.phone, self.postal_code, self.address1, self.address2)


class NewAddressIn(AddressIn):
    make_default: StrictBool = Field(default=False, alias="makeDefault")  # `0` is not `false`


class AddressOut(ApiModel):
    recipient: str
    phone: str
    postal_code: str
    address1: str
    address2: str

    @classmethod
    def of(cls, address: Address) -> Self:
        return cls(
            recipient=address.recipient,
            phone=address.phone,
            postal_code=address.postal_code,
            address1=address.address1,
            address2=address.address2,
        )


class SavedAddressOut(AddressOut):
    id: int
    is_default: bool

    @classmethod
    def saved(cls, saved: SavedAddress) -> Self:
        return cls(
            id=saved.id, is_default=saved.is_default, **AddressOut.of(saved.address).model_dump()
        )


class _OrderIn(ApiModel):
    """What both order bodies carry. Any other field (status, prices, role...) is ignored.

    `totalAmount` is the goods' total the client saw (the delivery fee is the server's to add).
    The order goes to `address`, or a copy of the saved `addressId`; with neither it is accepted
    with its address pending (`address: null`), to be given before paying."""

    user_id: Id | None = Field(default=None, alias="userId")
    total_amount: ClientTotal | None = Field(default=None, alias="totalAmount")
    address: AddressIn | None = None
    address_id: Id | None = Field(default=None, alias="addressId")

    def delivery_address(self) -> Address | None:
        return self.address.address() if self.address is not None else None


class ItemsOrderIn(_OrderIn):
    """`{items: [{productId, quantity}, ...]}` (a product listed twice counts once, summed)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["products"]}})

    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_LINES)

    def pairs(self) -> list[tuple[int, int]]:
        return [(item.product_id, item.quantity) for item in self.items]


class GuideOrderIn(_OrderIn):
    """The guide's `{userId, products, totalAmount}`: one unit per id (repeat an id for more)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["items"]}})

    products: list[Id] = Field(min_length=1, max_length=min(MAX_LINES, MAX_LINE_QUANTITY))

    def pairs(self) -> list[tuple[int, int]]:
        return [(product_id, 1) for product_id in self.products]


def _order_shape(body: object) -> str | None:
    """Which body was sent: exactly one of `items` and `products` must be there."""
    if isinstance(body, dict) and ("items" in body) != ("products" in body):
        return "items" if "items" in body else "products"
    return None


PlaceOrderIn = Annotated[
    Annotated[ItemsOrderIn, Tag("items")] | Annotated[GuideOrderIn, Tag("products")],
    Discriminator(
        _order_shape,
        custom_error_type="order_shape",
        custom_error_message="send either 'items' or 'products' (not both)",
    ),
]


class OrderLineOut(ApiModel):
    product_id: int
    product_name: str
    quantity: int
    unit_price: str
    line_total: str


class CarrierOut(ApiModel):
    code: str
    name_ko: str
    name_en: str


class ShipmentOut(ApiModel):
    carrier: CarrierOut
    tracking_number: str


class OrderOut(ApiModel):
    id: int
    user_id: int
    status: OrderStatus
    total_amount: str = Field(description="charged: the goods and the delivery fee")
    subtotal: str = Field(description="the goods")
    delivery_fee: str
    address: AddressOut | None = Field(description="a copy; null while the address is pending")
    shipment: ShipmentOut | None
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
            subtotal=str(order.goods_total),
            delivery_fee=str(order.delivery_fee),
            address=AddressOut.of(order.address) if order.address else None,
            shipment=(
                ShipmentOut(
                    carrier=carrier_out(order.shipment.carrier),
                    tracking_number=order.shipment.tracking_number,
                )
                if order.shipment
                else None
            ),
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
    """The card. The gateway checks it: a number failing the Luhn check, an expiry that is not
    MM/YY or is over, a CVC not of 3–4 digits each get 402 `payment_declined` with their
    `details.reason` (invalid_number, invalid_expiry, expired_card, invalid_cvc)."""

    card_number: Annotated[str, StringConstraints(max_length=32, pattern=CARD_NUMBER_PATTERN)] = (
        Field(alias="cardNumber", description="12 to 19 digits; spaces and dashes are ignored")
    )
    expiry: Annotated[str, StringConstraints(max_length=16)] = Field(examples=["12/29"])
    cvc: Annotated[str, StringConstraints(max_length=16)] = Field(examples=["123"])


class QuoteIn(ApiModel):
    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_LINES)

    def pairs(self) -> list[tuple[int, int]]:
        return [(item.product_id, item.quantity) for item in self.items]


class QuoteOut(ApiModel):
    """What the items cost today: goods, the delivery fee, and the total charged."""

    subtotal: str
    deliveryFee: str
    total: str

    @classmethod
    def of(cls, quote: Quote) -> Self:
        return cls(
            subtotal=str(quote.subtotal),
            deliveryFee=str(quote.delivery_fee),
            total=str(quote.total),
        )


class ShipIn(ApiModel):
    carrier: Annotated[str, StringConstraints(pattern="^(" + "|".join(CARRIERS) + ")$")]
    tracking_number: Annotated[str, StringConstraints(pattern=TRACKING_NUMBER_PATTERN)] = Field(
        alias="trackingNumber"
    )


def carrier_out(code: str) -> CarrierOut:
    carrier = CARRIERS.get(code)
    if carrier is None:  # a carrier no longer on the list: its code stands for its names
        return CarrierOut(code=code, name_ko=code, name_en=code)
    return CarrierOut(code=carrier.code, name_ko=carrier.name_ko, name_en=carrier.name_en)


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


class LakeHeadlineOut(ApiModel):
    """The data lake's report headline (docs/lake.md) over its days, as exported so far."""

    first_day: str
    last_day: str
    orders: int
    paid_orders: int
    revenue: str
    average_order_value: str | None
    cancellation_rate: float | None
    payment_decline_rate: float | None


class OverviewOut(ApiModel):
    orders_today: int
    revenue_today: str
    orders_to_ship: int = Field(description="paid orders not shipped yet")
    low_stock: list[ProductRow]
    cache_hit_ratio: float | None = Field(description="operations: this process's catalogue cache")
    lake: LakeHeadlineOut | None = None


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
