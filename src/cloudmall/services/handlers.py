"""One handler per command. Each takes the command first, then the tiers it needs by name;
bootstrap binds those once per process (`bootstrap.inject_dependencies`), so a caller only ever
sends the command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from cloudmall.domain.delivery import Quote, SavedAddress
from cloudmall.domain.errors import PermissionDenied
from cloudmall.domain.orders import Order
from cloudmall.domain.payments import Payment
from cloudmall.domain.products import Category, Product
from cloudmall.domain.users import User
from cloudmall.services import (
    accounts,
    cancellation,
    catalog,
    categories,
    credentials,
    delivery,
    lake,
    mail,
    media,
    orders,
    overview,
    password_reset,
    payments,
    profile,
)
from cloudmall.services import commands as c
from cloudmall.services.access import Access
from cloudmall.services.catalog_cache import CachedBody, CatalogCache
from cloudmall.services.consents import LegalVersions, required_consents
from cloudmall.services.health import TierStatus, check_tiers
from cloudmall.services.payment_reconciler import PaymentReconciler
from cloudmall.services.ports import (
    AddressBook,
    CatalogPresenter,
    Compaction,
    EventLake,
    ImageProcessor,
    LakeQueries,
    Metrics,
    ObjectStore,
    OrderBook,
    PasswordHasher,
    PasswordResetTokens,
    PaymentDesk,
    PaymentGateway,
    PriceList,
    Principal,
    QueryResult,
    StockDesk,
    StoredObject,
    TierProbe,
    TokenIssuer,
    TokenVerifier,
    Tracer,
    UnitOfWorkFactory,
)
from cloudmall.services.rate_limit import Throttles
from cloudmall.services.sessions import RefreshSessions, utc_now
from cloudmall.services.shop_info import ShopInfo
from cloudmall.services.stock_readers import StockSweeper

# --- accounts ---------------------------------------------------------------------------------


async def _logged_in(
    user: User, *, uow: UnitOfWorkFactory, token_issuer: TokenIssuer, sessions: RefreshSessions
) -> accounts.Session:
    """An access token and a new refresh session for the account."""
    token, expires_in = token_issuer.issue(user)
    refresh = await sessions.start(uow, user.id)
    return accounts.Session(user=user, access_token=token, expires_in=expires_in, refresh=refresh)


async def sign_up(
    command: c.SignUp,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    token_issuer: TokenIssuer,
    throttles: Throttles,
    sessions: RefreshSessions,
    legal: LegalVersions,
) -> accounts.Session:
    consents = required_consents(command.consents, versions=legal, at=utc_now())
    user = await accounts.sign_up(
        uow=uow,
        hasher=hasher,
        email=command.email,
        password=command.password,
        name=command.name,
        throttles=throttles,
        client=command.client,
        consents=consents,
        language=command.language,
    )
    return await _logged_in(user, uow=uow, token_issuer=token_issuer, sessions=sessions)


async def log_in(
    command: c.LogIn,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    token_issuer: TokenIssuer,
    throttles: Throttles,
    sessions: RefreshSessions,
) -> accounts.Session:
    session = await accounts.log_in(
        uow=uow,
        hasher=hasher,
        token_issuer=token_issuer,
        email=command.email,
        password=command.password,
        throttles=throttles,
        client=command.client,
    )
    return replace(session, refresh=await sessions.start(uow, session.user.id))


async def refresh_session(
    command: c.RefreshSession,
    *,
    uow: UnitOfWorkFactory,
    token_issuer: TokenIssuer,
    sessions: RefreshSessions,
    access: Access,
) -> accounts.Session:
    user, refresh = await sessions.rotate(uow, command.refresh_token)
    access.forget(user.id)  # the new access token is checked against the account as it is now
    token, expires_in = token_issuer.issue(user)
    return accounts.Session(user=user, access_token=token, expires_in=expires_in, refresh=refresh)


async def log_out(command: c.LogOut, *, uow: UnitOfWorkFactory, sessions: RefreshSessions) -> None:
    await sessions.end(uow, command.refresh_token)


async def authenticate(
    command: c.Authenticate, *, token_verifier: TokenVerifier, access: Access
) -> Principal:
    claimed = token_verifier.decode(command.token)
    # the account as it is now
    return await access.current(claimed, changing_password=command.changing_password)


async def current_user(command: c.CurrentUser, *, uow: UnitOfWorkFactory) -> User:
    return await accounts.current_user(uow=uow, principal=command.principal)


async def make_admin(
    command: c.MakeAdmin, *, uow: UnitOfWorkFactory, hasher: PasswordHasher
) -> accounts.AdminAccount:
    return await accounts.make_admin(
        uow=uow,
        hasher=hasher,
        email=command.email,
        password=command.password,
        name=command.name,
        temporary=command.temporary,
    )


async def set_initial_password(
    command: c.SetInitialPassword,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    access: Access,
) -> User:
    return await credentials.set_initial_password(
        uow=uow, hasher=hasher, access=access, email=command.email, password=command.password
    )


async def request_password_reset(
    command: c.RequestPasswordReset, *, uow: UnitOfWorkFactory, throttles: Throttles
) -> None:
    await password_reset.request_reset(
        uow=uow, throttles=throttles, email=command.email, client=command.client
    )


async def reset_password(
    command: c.ResetPassword,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    token_issuer: TokenIssuer,
    access: Access,
    reset_tokens: PasswordResetTokens,
    sessions: RefreshSessions,
) -> accounts.Session:
    user = await password_reset.reset_password(
        uow=uow,
        hasher=hasher,
        access=access,
        reset_tokens=reset_tokens,
        token=command.token,
        new_password=command.new_password,
    )
    # Every session of the account ended with the reset; this device starts a new one.
    return await _logged_in(user, uow=uow, token_issuer=token_issuer, sessions=sessions)


async def change_password(
    command: c.ChangePassword,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    token_issuer: TokenIssuer,
    access: Access,
    throttles: Throttles,
    sessions: RefreshSessions,
) -> accounts.Session:
    user = await credentials.change_password(
        uow=uow,
        hasher=hasher,
        access=access,
        user_id=command.principal.user_id,
        current_password=command.current_password,
        new_password=command.new_password,
        throttles=throttles,
        client=command.client,
    )
    # Every session of the account ended with the change; this device starts a new one.
    return await _logged_in(user, uow=uow, token_issuer=token_issuer, sessions=sessions)


async def get_profile(command: c.GetProfile, *, uow: UnitOfWorkFactory) -> profile.Profile:
    return await profile.get_profile(uow=uow, principal=command.principal)


async def update_profile(command: c.UpdateProfile, *, uow: UnitOfWorkFactory) -> profile.Profile:
    return await profile.update_profile(
        uow=uow, principal=command.principal, name=command.name, phone=command.phone
    )


async def get_shop_info(command: c.GetShopInfo, *, shop_info: ShopInfo) -> ShopInfo:
    return shop_info


async def get_token_keys(
    command: c.GetTokenKeys, *, token_verifier: TokenVerifier
) -> Mapping[str, object]:
    return token_verifier.key_set()


async def change_role(command: c.ChangeRole, *, uow: UnitOfWorkFactory, access: Access) -> User:
    return await credentials.change_role(
        uow=uow, access=access, user_id=command.user_id, role=command.role
    )


async def change_role_by_email(
    command: c.ChangeRoleByEmail, *, uow: UnitOfWorkFactory, access: Access
) -> User:
    return await credentials.change_role_by_email(
        uow=uow, access=access, email=command.email, role=command.role
    )


# --- catalogue --------------------------------------------------------------------------------


async def list_products(
    command: c.ListProducts,
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    present: CatalogPresenter,
) -> CachedBody:
    query = catalog.make_query(
        search=command.search,
        category=command.category,
        sort=command.sort,
        limit=command.limit,
        offset=command.offset,
    )
    return await catalog.product_list(uow=uow, cache=cache, present=present, query=query)


async def list_categories(
    command: c.ListCategories,
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    present: CatalogPresenter,
) -> CachedBody:
    return await catalog.categories(uow=uow, cache=cache, present=present)


async def get_product(
    command: c.GetProduct,
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    present: CatalogPresenter,
) -> CachedBody:
    return await catalog.product_detail(
        uow=uow, cache=cache, present=present, product_id=command.product_id
    )


async def create_product(
    command: c.CreateProduct, *, uow: UnitOfWorkFactory, cache: CatalogCache
) -> Product:
    return await catalog.create_product(
        uow=uow,
        cache=cache,
        name=command.name,
        price=command.price,
        description=command.description,
        category=command.category,
        stock_quantity=command.stock_quantity,
        name_en=command.name_en,
        description_en=command.description_en,
        list_price=command.list_price,
    )


async def add_category(
    command: c.AddCategory, *, uow: UnitOfWorkFactory, cache: CatalogCache
) -> Category:
    return await categories.add_category(
        uow=uow, cache=cache, name=command.name, name_en=command.name_en
    )


async def rename_category(
    command: c.RenameCategory, *, uow: UnitOfWorkFactory, cache: CatalogCache
) -> Category:
    return await categories.rename_category(
        uow=uow,
        cache=cache,
        category_id=command.category_id,
        name=command.name,
        name_en=command.name_en,
    )


async def delete_category(
    command: c.DeleteCategory, *, uow: UnitOfWorkFactory, cache: CatalogCache
) -> None:
    await categories.delete_category(uow=uow, cache=cache, category_id=command.category_id)


async def update_product(
    command: c.UpdateProduct, *, uow: UnitOfWorkFactory, cache: CatalogCache
) -> Product:
    return await catalog.update_product(
        uow=uow, cache=cache, product_id=command.product_id, changes=command.changes
    )


async def delete_product(
    command: c.DeleteProduct, *, uow: UnitOfWorkFactory, cache: CatalogCache
) -> None:
    await catalog.delete_product(uow=uow, cache=cache, product_id=command.product_id)


async def attach_image(
    command: c.AttachImage,
    *,
    uow: UnitOfWorkFactory,
    store: ObjectStore,
    images: ImageProcessor,
    cache: CatalogCache,
) -> Product:
    return await media.attach_image(
        uow=uow,
        store=store,
        images=images,
        cache=cache,
        product_id=command.product_id,
        data=command.data,
    )


async def read_media(command: c.ReadMedia, *, store: ObjectStore) -> StoredObject:
    return await media.read_media(store=store, key=command.key)


# --- orders and payments ----------------------------------------------------------------------


async def place_order(
    command: c.PlaceOrder, *, placer: orders.OrderPlacer, address_book: AddressBook
) -> orders.PlacedOrder:
    principal = command.principal
    if command.claimed_user_id is not None and command.claimed_user_id != principal.user_id:
        raise PermissionDenied("userId does not match the signed-in account")
    address = command.address
    if address is None and command.address_id is not None:
        address = await delivery.saved_address(
            addresses=address_book, principal=principal, address_id=command.address_id
        )
    return await placer.place(
        principal=principal,
        items=command.items,
        client_total=command.client_total,
        idempotency_key=command.idempotency_key,
        address=address,
    )


async def quote_order(
    command: c.QuoteOrder, *, price_list: PriceList, order_limits: orders.OrderLimits
) -> Quote:
    return await delivery.quote_items(prices=price_list, items=command.items, limits=order_limits)


async def set_order_address(command: c.SetOrderAddress, *, uow: UnitOfWorkFactory) -> Order:
    return await orders.set_order_address(
        uow=uow, principal=command.principal, order_id=command.order_id, address=command.address
    )


async def list_order_payments(
    command: c.ListOrderPayments, *, uow: UnitOfWorkFactory, order_book: OrderBook
) -> list[Payment]:
    return await payments.order_payments(
        uow=uow, order_book=order_book, principal=command.principal, order_id=command.order_id
    )


async def get_order(command: c.GetOrder, *, uow: UnitOfWorkFactory) -> Order:
    return await orders.get_order(uow=uow, principal=command.principal, order_id=command.order_id)


async def list_my_orders(command: c.ListMyOrders, *, uow: UnitOfWorkFactory) -> list[Order]:
    return await orders.list_my_orders(
        uow=uow, principal=command.principal, limit=command.limit, offset=command.offset
    )


async def list_all_orders(command: c.ListAllOrders, *, uow: UnitOfWorkFactory) -> list[Order]:
    return await orders.list_all_orders(
        uow=uow,
        principal=command.principal,
        status=command.status,
        limit=command.limit,
        offset=command.offset,
    )


async def pay_order(
    command: c.PayOrder,
    *,
    uow: UnitOfWorkFactory,
    order_book: OrderBook,
    gateway: PaymentGateway,
    metrics: Metrics,
    currency: str,
    tracer: Tracer,
) -> payments.PaidOrder:
    return await payments.pay_order(
        uow=uow,
        order_book=order_book,
        gateway=gateway,
        metrics=metrics,
        principal=command.principal,
        order_id=command.order_id,
        card_number=command.card_number,
        expiry=command.expiry,
        cvc=command.cvc,
        currency=currency,
        idempotency_key=command.idempotency_key,
        tracer=tracer,
    )


async def cancel_order(
    command: c.CancelOrder,
    *,
    uow: UnitOfWorkFactory,
    stock_desk: StockDesk,
    payment_desk: PaymentDesk,
) -> Order:
    return await cancellation.cancel_order(
        uow=uow,
        stock=stock_desk,
        payment_desk=payment_desk,
        principal=command.principal,
        order_id=command.order_id,
    )


async def refund_order(
    command: c.RefundOrder,
    *,
    uow: UnitOfWorkFactory,
    stock_desk: StockDesk,
    payment_desk: PaymentDesk,
) -> Order:
    return await cancellation.refund_order(
        uow=uow,
        stock=stock_desk,
        payment_desk=payment_desk,
        principal=command.principal,
        order_id=command.order_id,
    )


async def advance_order(command: c.AdvanceOrder, *, uow: UnitOfWorkFactory) -> Order:
    return await orders.advance_order(
        uow=uow,
        principal=command.principal,
        order_id=command.order_id,
        target=command.target,
        shipment=command.shipment,
    )


# --- address book -----------------------------------------------------------------------------


async def list_addresses(command: c.ListAddresses, *, uow: UnitOfWorkFactory) -> list[SavedAddress]:
    return await delivery.list_addresses(uow=uow, principal=command.principal)


async def add_address(command: c.AddAddress, *, uow: UnitOfWorkFactory) -> SavedAddress:
    return await delivery.add_address(
        uow=uow,
        principal=command.principal,
        address=command.address,
        make_default=command.make_default,
    )


async def delete_address(command: c.DeleteAddress, *, uow: UnitOfWorkFactory) -> None:
    await delivery.delete_address(
        uow=uow, principal=command.principal, address_id=command.address_id
    )


async def make_default_address(
    command: c.MakeDefaultAddress, *, uow: UnitOfWorkFactory
) -> SavedAddress:
    return await delivery.make_default(
        uow=uow, principal=command.principal, address_id=command.address_id
    )


async def shop_overview(
    command: c.ShopOverview,
    *,
    uow: UnitOfWorkFactory,
    stock_desk: StockDesk,
    metrics: Metrics,
    low_stock_threshold: int,
    lake_queries: LakeQueries,
) -> overview.Overview:
    found = await overview.overview(
        uow=uow,
        stock=stock_desk,
        principal=command.principal,
        low_stock_threshold=low_stock_threshold,
    )
    summary = await lake.summary(queries=lake_queries, span=lake.ReportSpan.of(None, None))
    return replace(found, cache_hit_ratio=metrics.cache_hit_ratio(), lake=summary)


# --- the data lake ----------------------------------------------------------------------------


async def export_events(command: c.ExportEvents, *, exporter: lake.Exporter) -> lake.ExportResult:
    return await exporter.run_once()


async def compact_lake(command: c.CompactLake, *, event_lake: EventLake) -> Compaction:
    return await event_lake.compact(command.day)


async def send_mail(command: c.SendMail, *, mailer: mail.MailReader) -> mail.MailRunResult:
    return await mailer.run_once()


async def expire_reservations(command: c.ExpireReservations, *, stock_sweeper: StockSweeper) -> int:
    return await stock_sweeper.run_once()


async def reconcile_payments(
    command: c.ReconcilePayments, *, payment_reconciler: PaymentReconciler
) -> int:
    return await payment_reconciler.run_once()


async def report_from_lake(
    command: c.ReportFromLake, *, lake_queries: LakeQueries
) -> lake.LakeReport:
    return await lake.report(queries=lake_queries, span=command.span)


async def query_lake(command: c.QueryLake, *, lake_queries: LakeQueries) -> QueryResult:
    return await lake.query(queries=lake_queries, sql=command.sql)


# --- operations -------------------------------------------------------------------------------


async def count_shop(command: c.CountShop, *, uow: UnitOfWorkFactory) -> overview.ShopSize:
    return await overview.shop_size(uow=uow, products=command.products, users=command.users)


async def check(command: c.CheckTiers, *, probes: Sequence[TierProbe]) -> list[TierStatus]:
    return await check_tiers(probes, migrations=command.migrations)


Handler = Callable[..., Awaitable[Any]]

#: Which handler answers which command.
HANDLERS: Mapping[type[c.Command[Any]], Handler] = {
    c.SignUp: sign_up,
    c.LogIn: log_in,
    c.RefreshSession: refresh_session,
    c.LogOut: log_out,
    c.Authenticate: authenticate,
    c.CurrentUser: current_user,
    c.MakeAdmin: make_admin,
    c.SetInitialPassword: set_initial_password,
    c.RequestPasswordReset: request_password_reset,
    c.ResetPassword: reset_password,
    c.ChangePassword: change_password,
    c.GetProfile: get_profile,
    c.UpdateProfile: update_profile,
    c.GetShopInfo: get_shop_info,
    c.GetTokenKeys: get_token_keys,
    c.ChangeRole: change_role,
    c.ChangeRoleByEmail: change_role_by_email,
    c.ListProducts: list_products,
    c.ListCategories: list_categories,
    c.AddCategory: add_category,
    c.RenameCategory: rename_category,
    c.DeleteCategory: delete_category,
    c.GetProduct: get_product,
    c.CreateProduct: create_product,
    c.UpdateProduct: update_product,
    c.DeleteProduct: delete_product,
    c.AttachImage: attach_image,
    c.ReadMedia: read_media,
    c.PlaceOrder: place_order,
    c.GetOrder: get_order,
    c.ListMyOrders: list_my_orders,
    c.ListAllOrders: list_all_orders,
    c.PayOrder: pay_order,
    c.CancelOrder: cancel_order,
    c.RefundOrder: refund_order,
    c.AdvanceOrder: advance_order,
    c.QuoteOrder: quote_order,
    c.SetOrderAddress: set_order_address,
    c.ListOrderPayments: list_order_payments,
    c.ListAddresses: list_addresses,
    c.AddAddress: add_address,
    c.DeleteAddress: delete_address,
    c.MakeDefaultAddress: make_default_address,
    c.ShopOverview: shop_overview,
    c.ExportEvents: export_events,
    c.CompactLake: compact_lake,
    c.SendMail: send_mail,
    c.ExpireReservations: expire_reservations,
    c.ReconcilePayments: reconcile_payments,
    c.ReportFromLake: report_from_lake,
    c.QueryLake: query_lake,
    c.CountShop: count_shop,
    c.CheckTiers: check,
}
