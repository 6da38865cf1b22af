"""The shop's use cases as commands: each names its inputs; `Shop.handle` answers it.

A command is a frozen dataclass; `Command[R]` says what handling it answers with, so an
entrypoint that sends one gets a typed result back. Entrypoints (HTTP routes, the CLI, later a
Lambda handler or a queue consumer) only build commands and present results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from cloudmall.domain.delivery import Address, Quote, SavedAddress, Shipment
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.payments import Payment
from cloudmall.domain.products import Category, Product
from cloudmall.domain.users import Role, User
from cloudmall.services.accounts import AdminAccount, Session
from cloudmall.services.catalog_cache import CachedBody
from cloudmall.services.health import TierStatus
from cloudmall.services.lake import ExportResult, LakeReport, ReportSpan
from cloudmall.services.mail import MailRunResult
from cloudmall.services.orders import PlacedOrder
from cloudmall.services.overview import Overview, ShopSize
from cloudmall.services.payments import PaidOrder
from cloudmall.services.ports import (
    Compaction,
    Principal,
    ProductChanges,
    QueryResult,
    StoredObject,
)
from cloudmall.services.profile import Profile
from cloudmall.services.shop_info import ShopInfo

R = TypeVar("R", covariant=True)


class Command(Generic[R]):
    """A use case's inputs; handling it answers an R."""

    __slots__ = ()


# --- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignUp(Command[Session]):
    """Create a customer account and log it in; `client` is the caller's address (rate limit);
    `consents` names the documents agreed to (each required one must be there)."""

    email: str
    password: str = field(repr=False)
    name: str
    client: str
    consents: frozenset[str] = frozenset()
    language: str | None = None  # the storefront's: the account's mails are written in it


@dataclass(frozen=True, slots=True)
class LogIn(Command[Session]):
    email: str
    password: str = field(repr=False)
    client: str


@dataclass(frozen=True, slots=True)
class RefreshSession(Command[Session]):
    """A new access token for a refresh token, which is rotated (a replayed one ends its
    whole session)."""

    refresh_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class LogOut(Command[None]):
    """End the session of a refresh token (its whole family)."""

    refresh_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Authenticate(Command[Principal]):
    """Who an access token's caller is, as the account is now: AuthenticationFailed if the token
    is not valid or predates the account's last password change; the role is the account's.
    PasswordChangeRequired while the account has an initial password, unless the call is the
    password change (`changing_password`)."""

    token: str
    changing_password: bool = False


@dataclass(frozen=True, slots=True)
class CurrentUser(Command[User]):
    principal: Principal


@dataclass(frozen=True, slots=True)
class MakeAdmin(Command[AdminAccount]):
    """Create a staff account, or promote the account with that email (its password stays).
    A `temporary` password (made up and printed by the shop) must be changed at first log-in."""

    email: str
    password: str = field(repr=False)
    name: str
    temporary: bool = False


@dataclass(frozen=True, slots=True)
class SetInitialPassword(Command[User]):
    """An operator's new one-time password for an account: sessions end, and it must be
    changed at the next log-in."""

    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RequestPasswordReset(Command[None]):
    """Mail a reset link to the account with this email, if there is one (the answer is the
    same either way); `client` is the caller's address (rate limit)."""

    email: str
    client: str


@dataclass(frozen=True, slots=True)
class ResetPassword(Command[Session]):
    """Set a new password through a reset link's token; every session ends, the answer is a
    new one."""

    token: str = field(repr=False)
    new_password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ChangePassword(Command[Session]):
    """Replace the caller's password (the current one checked); every older token stops working,
    the answer carries a new one."""

    principal: Principal
    current_password: str = field(repr=False)
    new_password: str = field(repr=False)
    client: str = ""


@dataclass(frozen=True, slots=True)
class GetProfile(Command[Profile]):
    principal: Principal


@dataclass(frozen=True, slots=True)
class UpdateProfile(Command[Profile]):
    """Change the caller's name and/or phone (None leaves one as it is; "" clears the phone)."""

    principal: Principal
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class GetShopInfo(Command[ShopInfo]):
    """The business details and legal document versions the storefront shows."""


@dataclass(frozen=True, slots=True)
class GetTokenKeys(Command[Mapping[str, object]]):
    """The public keys access tokens are verified with, as a JWK Set."""


@dataclass(frozen=True, slots=True)
class ChangeRole(Command[User]):
    """Staff makes an account staff or customer; it applies to the account's next request."""

    user_id: int
    role: Role


@dataclass(frozen=True, slots=True)
class ChangeRoleByEmail(Command[User]):
    email: str
    role: Role


# --- catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListProducts(Command[CachedBody]):
    search: str | None = None
    category: str | None = None
    sort: str = "id"
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ListCategories(Command[CachedBody]):
    pass


@dataclass(frozen=True, slots=True)
class AddCategory(Command[Category]):
    name: str  # Korean
    name_en: str  # also gives the slug


@dataclass(frozen=True, slots=True)
class RenameCategory(Command[Category]):
    category_id: int
    name: str
    name_en: str


@dataclass(frozen=True, slots=True)
class DeleteCategory(Command[None]):
    """Only a category without products on sale."""

    category_id: int


@dataclass(frozen=True, slots=True)
class GetProduct(Command[CachedBody]):
    product_id: int


@dataclass(frozen=True, slots=True)
class CreateProduct(Command[Product]):
    name: str
    price: Decimal | str
    description: str = ""
    category: str = "general"
    stock_quantity: int = 0
    name_en: str | None = None
    description_en: str | None = None
    list_price: Decimal | str | None = None  # the price before a sale: set to put it on sale


@dataclass(frozen=True, slots=True)
class UpdateProduct(Command[Product]):
    product_id: int
    changes: ProductChanges


@dataclass(frozen=True, slots=True)
class DeleteProduct(Command[None]):
    product_id: int


@dataclass(frozen=True, slots=True)
class AttachImage(Command[Product]):
    product_id: int
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReadMedia(Command[StoredObject]):
    key: str


# --- orders and payments ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaceOrder(Command[PlacedOrder]):
    """`claimed_user_id`, if sent, must be the caller's own id. The order goes to `address`, or
    a copy of the caller's saved `address_id`; with neither, its address is pending."""

    principal: Principal
    items: Sequence[tuple[int, int]]
    client_total: Decimal | None = None
    idempotency_key: str | None = None
    claimed_user_id: int | None = None
    address: Address | None = None
    address_id: int | None = None


@dataclass(frozen=True, slots=True)
class QuoteOrder(Command[Quote]):
    """What the items cost today: goods, delivery fee, total."""

    items: Sequence[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class SetOrderAddress(Command[Order]):
    principal: Principal
    order_id: int
    address: Address


@dataclass(frozen=True, slots=True)
class ListOrderPayments(Command[list[Payment]]):
    principal: Principal
    order_id: int


@dataclass(frozen=True, slots=True)
class GetOrder(Command[Order]):
    principal: Principal
    order_id: int


@dataclass(frozen=True, slots=True)
class ListMyOrders(Command[list[Order]]):
    principal: Principal
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ListAllOrders(Command[list[Order]]):
    principal: Principal
    status: OrderStatus | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class PayOrder(Command[PaidOrder]):
    principal: Principal
    order_id: int
    card_number: str = field(repr=False)
    expiry: str = field(repr=False, default="")
    cvc: str = field(repr=False, default="")
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder(Command[Order]):
    principal: Principal
    order_id: int


@dataclass(frozen=True, slots=True)
class RefundOrder(Command[Order]):
    """Staff refunds a paid order not shipped yet (cancelled, units back to stock)."""

    principal: Principal
    order_id: int


@dataclass(frozen=True, slots=True)
class AdvanceOrder(Command[Order]):
    """Staff moves: paid → shipped (with a `shipment`), shipped → delivered."""

    principal: Principal
    order_id: int
    target: OrderStatus
    shipment: Shipment | None = None


# --- address book -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListAddresses(Command[list[SavedAddress]]):
    principal: Principal


@dataclass(frozen=True, slots=True)
class AddAddress(Command[SavedAddress]):
    principal: Principal
    address: Address
    make_default: bool = False


@dataclass(frozen=True, slots=True)
class DeleteAddress(Command[None]):
    principal: Principal
    address_id: int


@dataclass(frozen=True, slots=True)
class MakeDefaultAddress(Command[SavedAddress]):
    principal: Principal
    address_id: int


@dataclass(frozen=True, slots=True)
class ShopOverview(Command[Overview]):
    principal: Principal


# --- operations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountShop(Command[ShopSize]):
    """How many products and accounts the shop has (an empty one gets the demo data)."""

    products: bool = True
    users: bool = True


@dataclass(frozen=True, slots=True)
class CheckTiers(Command[list[TierStatus]]):
    """Each tier's health; `migrations=False` skips the schema check (before migrating)."""

    migrations: bool = True


# --- the data lake ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportEvents(Command[ExportResult]):
    """Move every event waiting in the outbox to the lake."""


@dataclass(frozen=True, slots=True)
class CompactLake(Command[Compaction]):
    """Merge the lake's files of one day into one file per partition."""

    day: date


# --- mail -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendMail(Command[MailRunResult]):
    """Send the mail of every event waiting in the outbox (MailUnavailable if the server fails)."""


# --- stock -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpireReservations(Command[int]):
    """Release every stock reservation whose time is up; how many."""


# --- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconcilePayments(Command[int]):
    """Settle every payment left on its way past the grace period; how many."""


@dataclass(frozen=True, slots=True)
class ReportFromLake(Command[LakeReport]):
    span: ReportSpan


@dataclass(frozen=True, slots=True)
class QueryLake(Command[QueryResult]):
    """One SQL statement over the lake's tables (an operator's, from the CLI)."""

    sql: str
