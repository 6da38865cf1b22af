"""The composition root: settings in, a Shop out. The one place that names concrete adapters.

It builds each tier once per process, chooses for the runtime (`CLOUDMALL_RUNTIME`) how orders
are placed, which cache levels run and where metrics go, and binds every command's handler to
the tiers it names (in the spirit of cosmicpython's `bootstrap.inject_dependencies`).
"""

from __future__ import annotations

import functools
import inspect
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from cloudmall.adapters.access_board.memory import MemoryAccessBoard
from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.engine import PasswordSource, create_engine
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.images.pillow import PillowImageProcessor
from cloudmall.adapters.lake.absent import NoLakeEngine
from cloudmall.adapters.lake.on_demand import EventLakeOnDemand, LakeQueriesOnDemand
from cloudmall.adapters.mail.files import FolderMailSender
from cloudmall.adapters.payments.simulated import SimulatedGateway
from cloudmall.adapters.probes import CacheProbe, DatabaseProbe, MigrationsProbe, StoreProbe
from cloudmall.adapters.security.passwords import Argon2PasswordHasher
from cloudmall.adapters.security.reset_tokens import JwtPasswordResetTokens
from cloudmall.adapters.security.signing_keys import (
    PublicKey,
    generate_private_pem,
    load_private_key,
    load_public_keys,
)
from cloudmall.adapters.security.tokens import JwtTokenIssuer, JwtTokenVerifier
from cloudmall.adapters.storage.cached import CachedObjectStore
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.config import (
    SERVICE_PEERS,
    Runtime,
    ServiceName,
    Settings,
    TokenAlgorithm,
    TracingMode,
)
from cloudmall.domain.delivery import DeliveryFees
from cloudmall.services.access import Access, AccessCheck, BoardAccessCheck
from cloudmall.services.access_board import ACCESS_CONSUMER, AccessPublisher, board_ttl_seconds
from cloudmall.services.address_book import LocalAddressBook
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.consents import LegalVersions
from cloudmall.services.event_consumer import EventConsumer, EventHandler
from cloudmall.services.event_groups import (
    ORDERS_GROUP,
    ORDERS_TYPES,
    PRODUCTS_GROUP,
    PRODUCTS_TYPES,
    GroupLoop,
    cancel_on_expiry,
    release_on_cancel,
)
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.handlers import HANDLERS, Handler
from cloudmall.services.lake import Exporter
from cloudmall.services.mail import MAIL_CONSUMER, MailReader
from cloudmall.services.mail_group import MailGroup
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.order_book import LocalOrderBook
from cloudmall.services.order_desk import MAX_GROUP, OrderDesk
from cloudmall.services.order_readers import ORDERS_CONSUMER, orders_reader
from cloudmall.services.orders import OrderLimits, OrderPerTransaction, OrderPlacer
from cloudmall.services.outbox_readers import BackgroundLoop, Follower
from cloudmall.services.payment_desk import LocalPaymentDesk
from cloudmall.services.payment_reconciler import (
    RECONCILE_MAX_DELAY_SECONDS,
    RECONCILE_SECONDS,
    PaymentReconciler,
)
from cloudmall.services.ports import (
    NO_TRACER,
    AccessBoard,
    AddressBook,
    BackupDatabase,
    Broker,
    BrokerUnavailable,
    Cache,
    CatalogPresenter,
    Counter,
    DatabaseUnavailable,
    EventLake,
    LakeQueries,
    MailSender,
    Metrics,
    ObjectStore,
    OrderBook,
    PasswordResetTokens,
    PaymentDesk,
    PriceList,
    StockDesk,
    StorageUnavailable,
    TierProbe,
    TokenIssuer,
    TokenVerifier,
    Tracer,
    UnitOfWorkFactory,
)
from cloudmall.services.price_list import LocalPriceList
from cloudmall.services.rate_limit import Limit, RateLimiter, SlowDown, Throttles
from cloudmall.services.relay import BROKER_CONSUMER, RELAY_MAX_DELAY_SECONDS, Relay
from cloudmall.services.sessions import RefreshSessions
from cloudmall.services.shop import Background, BoundHandler, Shop
from cloudmall.services.shop_info import BusinessDetails, ShopInfo
from cloudmall.services.stock_desk import LocalStockDesk
from cloudmall.services.stock_readers import (
    STOCK_CONSUMER,
    SWEEP_MAX_DELAY_SECONDS,
    SWEEP_SECONDS,
    StockSweeper,
    stock_reader,
)

# Adapters that some processes never use are imported where they are built: a function's cold
# start pays each import (boto3 ~0.2 s, Alembic ~0.35 s, prometheus-client ~0.1 s of CPU), and
# a function with no S3, no IAM database log-in, no SMTP and no DynamoDB needs none of them.
if TYPE_CHECKING:
    from cloudmall.adapters.cache.redis import RedisCache
    from cloudmall.adapters.http.client import ServiceClient
    from cloudmall.adapters.tracing import Tracing


@dataclass(frozen=True, slots=True)
class RuntimeProfile:
    """What a runtime keeps in its process between requests."""

    runtime: Runtime
    group_commit: bool  # orders arriving together share a transaction (OrderDesk)
    local_cache: bool  # level-1 catalogue answers, kept current by a background watcher
    fast_path: bool  # the web layer answers repeated catalogue URLs from level 1
    metrics: Literal["prometheus", "cloudwatch"]
    db_pool_size: int  # connections kept per process (a function serves one request at a time)
    lake_engine: bool  # pyarrow + DuckDB in the process (a function's package leaves them out)
    # The outbox's mail reader and broker relay run in the background (a frozen function cannot
    # keep a loop: there `cloudmall mail send` and `cloudmall events relay` run on a schedule).
    mail_loop: bool


PROFILES: Mapping[Runtime, RuntimeProfile] = {
    Runtime.SERVER: RuntimeProfile(
        Runtime.SERVER, True, True, True, "prometheus", 10, True, mail_loop=True
    ),
    # One service of several (EKS): long-lived like a server, scraped by Prometheus.
    Runtime.SERVICE: RuntimeProfile(
        Runtime.SERVICE, True, True, True, "prometheus", 10, True, mail_loop=True
    ),
    # One request per instance, frozen in between: no group to gather, no watcher to feed,
    # no scrape target; metrics leave as CloudWatch embedded-metric-format lines.
    Runtime.FUNCTION: RuntimeProfile(
        Runtime.FUNCTION, False, False, False, "cloudwatch", 1, False, mail_loop=False
    ),
}


def runtime_profile(settings: Settings) -> RuntimeProfile:
    return PROFILES[settings.runtime]


def database_password_source(settings: Settings) -> PasswordSource | None:
    """IAM tokens per new connection with `CLOUDMALL_DATABASE_IAM_AUTH`; else the URL's password."""
    if not settings.database_iam_auth:
        return None
    from cloudmall.adapters.db.iam_auth import RdsIamTokens  # boto3: see the imports above

    return RdsIamTokens()


def build_cache(url: str) -> MemoryCache | RedisCache:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryCache()
    if scheme in ("redis", "rediss"):
        # Imported here: redis-py costs a function's cold start ~0.2 s where no Redis is used.
        from cloudmall.adapters.cache.redis import RedisCache

        return RedisCache(url)
    raise ValueError(
        f"unsupported CLOUDMALL_CACHE_URL scheme {scheme!r}: use memory:// or redis://"
    )


def build_store(url: str) -> ObjectStore:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalObjectStore(Path(parts.path))
    if parts.scheme == "s3":
        from cloudmall.adapters.storage.s3 import S3ObjectStore  # boto3: see the imports above

        return S3ObjectStore(url)
    raise ValueError(
        f"unsupported CLOUDMALL_STORAGE_URL scheme {parts.scheme!r}: use file:// or s3://"
    )


def build_mail_sender(settings: Settings) -> MailSender:
    """SMTP when `CLOUDMALL_SMTP_URL` is set, else .eml files in `CLOUDMALL_MAIL_DIR`."""
    smtp_url = settings.smtp_url.get_secret_value()
    if smtp_url:
        from cloudmall.adapters.mail.smtp import SmtpMailSender, SmtpServer  # mail senders only

        return SmtpMailSender(SmtpServer.from_url(smtp_url), sender=settings.mail_from)
    assert settings.mail_dir is not None  # filled in by the settings
    return FolderMailSender(settings.mail_dir, sender=settings.mail_from)


def build_mail_reader(
    settings: Settings,
    uow: UnitOfWorkFactory,
    reset_tokens: PasswordResetTokens,
    tracer: Tracer = NO_TRACER,
) -> MailReader:
    return MailReader(
        uow=uow,
        sender=build_mail_sender(settings),
        reset_tokens=reset_tokens,
        texts=MailTexts(public_url=settings.public_url, currency=settings.currency),
        reset_valid_minutes=settings.password_reset_ttl_seconds // 60,
        batch_size=settings.mail_batch_size,
        consumers=tuple(settings.outbox_consumers),
        orders_here=_owns(settings, "orders"),
        tracer=tracer,
    )


def build_mail_group(
    settings: Settings, mailer: MailReader, broker: Broker | None
) -> MailGroup | None:
    """The users service's mail of the orders and payments services' events, received from
    the broker (the monolith's mail reader reads them from its one outbox); None elsewhere, or
    where mail is not sent."""
    if (
        settings.service is not ServiceName.USERS
        or broker is None
        or MAIL_CONSUMER not in settings.outbox_consumers
    ):
        return None
    return MailGroup(
        mailer=mailer,
        broker=broker,
        stream=settings.broker_stream,
        member=_member(),
        visibility_seconds=settings.broker_visibility_seconds,
        batch_size=settings.mail_batch_size,
    )


def _member() -> str:
    """This process in its service's consumer groups: one member per server worker."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class AccessTokens:
    """The access-token tiers: a verifier always, an issuer only with the signing key."""

    verifier: TokenVerifier
    issuer: TokenIssuer | None


def build_access_tokens(settings: Settings) -> AccessTokens:
    """EdDSA: the signing key's public key and `CLOUDMALL_TOKEN_VERIFY_KEYS` verify, and only
    a process with the private key issues; HS256: the shared secret does both."""
    issuer, audience = settings.token_issuer, settings.token_audience
    ttl = settings.token_ttl_seconds
    if settings.token_algorithm is TokenAlgorithm.HS256:
        secret = settings.secret_key.get_secret_value()
        return AccessTokens(
            JwtTokenVerifier.hs256(secret, issuer=issuer, audience=audience),
            JwtTokenIssuer.hs256(secret, issuer=issuer, audience=audience, ttl_seconds=ttl),
        )
    keys = load_public_keys(settings.token_verify_keys)
    signer = None
    if pem := settings.token_signing_key.get_secret_value():
        private = load_private_key(pem)
        keys.insert(0, PublicKey.of(private.public_key()))
        signer = JwtTokenIssuer.ed25519(private, issuer=issuer, audience=audience, ttl_seconds=ttl)
    unique = list({key.kid: key for key in keys}.values())  # the signing key may be listed too
    return AccessTokens(JwtTokenVerifier.ed25519(unique, issuer=issuer, audience=audience), signer)


def build_access_board(settings: Settings) -> AccessBoard | None:
    """The access board (on the broker's Redis) where the users service publishes changed
    accounts and the other services read them; None in the monolith, whose every process reads
    the accounts (unless its outbox names the `access` reader). A service without a broker (a
    first look at the topology: never in production) gets an empty board of its own, so its
    tokens' claims are believed."""
    if settings.service is None and ACCESS_CONSUMER not in settings.outbox_consumers:
        return None
    broker_url = settings.broker_url.get_secret_value()
    if not broker_url:
        return MemoryAccessBoard()
    from cloudmall.adapters.access_board.redis import RedisAccessBoard  # redis-py: see build_cache

    return RedisAccessBoard(broker_url)


def build_access(
    settings: Settings, uow: UnitOfWorkFactory, board: AccessBoard | None, metrics: Metrics
) -> Access:
    """Each request checked against its account: read where the accounts are (the monolith,
    the users service), from the access board in the other services."""
    if settings.service in (None, ServiceName.USERS) or board is None:
        return AccessCheck(uow, ttl_seconds=settings.auth_cache_seconds)
    return BoardAccessCheck(board, metrics, ttl_seconds=settings.auth_cache_seconds)


def build_access_publisher(
    settings: Settings, uow: UnitOfWorkFactory, board: AccessBoard | None
) -> AccessPublisher | None:
    """The outbox's `access` reader, where the accounts are and it is one of the readers (the
    settings make it one in the users service with a broker)."""
    if board is None or not _owns(settings, "users"):
        return None
    if ACCESS_CONSUMER not in settings.outbox_consumers:
        return None
    return AccessPublisher(
        uow=uow,
        board=board,
        ttl_seconds=board_ttl_seconds(settings.token_ttl_seconds),
        batch_size=settings.mail_batch_size,
        consumers=tuple(settings.outbox_consumers),
    )


def new_signing_key() -> tuple[str, PublicKey]:
    """A new Ed25519 private key (PEM) and its public key, for `cloudmall keys generate`."""
    pem = generate_private_pem()
    return pem, PublicKey.of(load_private_key(pem).public_key())


def build_broker(url: str, *, max_len: int) -> Broker:
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        # Imported here, like the cache: only a process that relays or consumes pays for it.
        from cloudmall.adapters.broker.redis_streams import RedisStreamsBroker

        return RedisStreamsBroker(url, max_len=max_len)
    raise ValueError(
        f"unsupported CLOUDMALL_BROKER_URL scheme {scheme!r}: use redis:// or rediss://"
    )


def build_relay(settings: Settings, uow: UnitOfWorkFactory, broker: Broker | None) -> Relay | None:
    """The outbox's `broker` reader, when it is one of the configured readers (the settings
    refuse it without a broker URL, and make it one in a service with a broker)."""
    if BROKER_CONSUMER not in settings.outbox_consumers or broker is None:
        return None
    return Relay(
        uow=uow,
        broker=broker,
        stream=settings.broker_stream,
        batch_size=settings.broker_batch_size,
        consumers=tuple(settings.outbox_consumers),
    )


def build_event_groups(
    settings: Settings,
    uow: UnitOfWorkFactory,
    broker: Broker | None,
    cache: CatalogCache,
    tracer: Tracer = NO_TRACER,
) -> list[GroupLoop]:
    """A service's consumers of the other services' events (docs/microservices.md, the order
    saga): products releases cancelled orders' units, orders cancels the pending orders whose
    reservations expired. None in the monolith (its outbox readers do it) or without a broker."""
    if settings.service is None or broker is None:
        return []
    groups: dict[ServiceName, tuple[str, frozenset[str], EventHandler]] = {
        ServiceName.PRODUCTS: (PRODUCTS_GROUP, PRODUCTS_TYPES, release_on_cancel(cache)),
        ServiceName.ORDERS: (ORDERS_GROUP, ORDERS_TYPES, cancel_on_expiry),
    }
    if settings.service not in groups:
        return []
    group, types, handler = groups[settings.service]
    consumer = EventConsumer(
        uow=uow,
        broker=broker,
        stream=settings.broker_stream,
        group=group,
        member=_member(),
        handler=handler,
        visibility_seconds=settings.broker_visibility_seconds,
        types=types,
        tracer=tracer,
    )
    return [GroupLoop(consumer, block_seconds=settings.broker_poll_seconds)]


@dataclass(frozen=True, slots=True)
class RemoteDesks:
    """The ports between contexts a service reaches over HTTP (None: answered in this process),
    and the clients to close."""

    stock: StockDesk | None = None
    price_list: PriceList | None = None
    address_book: AddressBook | None = None
    order_book: OrderBook | None = None
    payment_desk: PaymentDesk | None = None
    clients: tuple[ServiceClient, ...] = ()


def build_remote_desks(settings: Settings) -> RemoteDesks:
    """In a service, the ports of the services it calls (SERVICE_PEERS) over HTTP; none in the
    monolith, where each context answers the others in process."""
    if settings.service is None:
        return RemoteDesks()
    # Imported here: httpx is no cost a monolith or a function should pay at start.
    from cloudmall.adapters.http.client import ServiceClient
    from cloudmall.adapters.http.desks import (
        HttpAddressBook,
        HttpOrderBook,
        HttpPaymentDesk,
        HttpPriceList,
        HttpStockDesk,
    )

    peers = SERVICE_PEERS[settings.service]
    clients = {
        peer: ServiceClient(
            peer.value,
            settings.peer_url(peer),
            secret=settings.internal_secret.get_secret_value(),
        )
        for peer in peers
    }
    users = clients.get(ServiceName.USERS)
    products = clients.get(ServiceName.PRODUCTS)
    orders = clients.get(ServiceName.ORDERS)
    payments = clients.get(ServiceName.PAYMENTS)
    return RemoteDesks(
        stock=HttpStockDesk(products) if products else None,
        price_list=HttpPriceList(products) if products else None,
        address_book=HttpAddressBook(users) if users else None,
        order_book=HttpOrderBook(orders) if orders else None,
        payment_desk=HttpPaymentDesk(payments) if payments else None,
        clients=tuple(clients.values()),
    )


def build_metrics(profile: RuntimeProfile) -> Metrics:
    if profile.metrics == "cloudwatch":
        # Imported here: aws-lambda-powertools costs a server ~0.2 s of start-up for nothing.
        from cloudmall.adapters.metrics_emf import CloudWatchMetrics

        return CloudWatchMetrics()
    from cloudmall.adapters.metrics import PrometheusMetrics  # servers only (see above)

    return PrometheusMetrics()


def build_tracing(settings: Settings) -> Tracing | None:
    """This process's OpenTelemetry tracing (started once, shared by every app and shop the
    process builds), or None with `CLOUDMALL_TRACING=off`: then nothing of OpenTelemetry is
    imported, and nothing is instrumented."""
    if settings.tracing is TracingMode.OFF:
        return None
    from cloudmall.adapters.tracing import start_tracing

    return start_tracing(
        mode=settings.tracing,
        service_name=settings.service_name,
        sample_ratio=settings.tracing_sample_ratio,
    )


def build_throttles(settings: Settings, counter: Counter) -> Throttles:
    window = settings.login_window_seconds
    reset_window = settings.password_reset_window_seconds
    return Throttles(
        limiter=RateLimiter(counter),
        login_per_account_and_client=Limit(
            "login-account-client", settings.login_failures_per_account_and_client, window
        ),
        login_per_client=Limit("login-client", settings.login_failures_per_client, window),
        login_per_account=Limit("login-account", settings.login_failures_per_account, window),
        slow_down=SlowDown(
            free=settings.login_failures_per_account,
            max_seconds=settings.login_slowdown_max_seconds,
        ),
        signup_per_client=Limit(
            "signup-client", settings.signups_per_client, settings.signup_window_seconds
        ),
        reset_per_client=Limit("reset-client", settings.password_resets_per_client, reset_window),
        reset_per_account=Limit(
            "reset-account", settings.password_resets_per_account, reset_window
        ),
    )


def order_limits(settings: Settings) -> OrderLimits:
    return OrderLimits(
        max_lines=settings.max_order_lines,
        max_quantity=settings.max_line_quantity,
        max_total=settings.max_order_total,
        fees=DeliveryFees(fee=settings.delivery_fee, free_from=settings.free_delivery_from),
    )


def build_placer(
    profile: RuntimeProfile,
    uow: UnitOfWorkFactory,
    stock: StockDesk,
    metrics: Metrics,
    limits: OrderLimits,
    *,
    max_group: int = MAX_GROUP,
    tracer: Tracer = NO_TRACER,
) -> OrderPlacer:
    if profile.group_commit:
        return OrderDesk(
            uow=uow,
            stock=stock,
            metrics=metrics,
            limits=limits,
            max_group=max_group,
            tracer=tracer,
        )
    return OrderPerTransaction(uow=uow, stock=stock, metrics=metrics, limits=limits)


def build_probes(
    settings: Settings,
    database: list[TierProbe],
    cache: Cache,
    catalog: CatalogCache,
    store: ObjectStore,
) -> list[TierProbe]:
    return [
        *database,
        CacheProbe(cache, urlsplit(settings.cache_url).scheme, lambda: catalog.listening),
        StoreProbe(store, urlsplit(settings.storage_url).scheme),
    ]


def build_shop_info(settings: Settings) -> ShopInfo:
    return ShopInfo(
        business=BusinessDetails(
            name=settings.business_name,
            representative=settings.business_representative,
            registration_number=settings.business_registration_number,
            mail_order_number=settings.mail_order_registration_number,
            address=settings.business_address,
            phone=settings.customer_service_phone,
            email=settings.customer_service_email,
        ),
        legal=legal_versions(settings),
    )


def legal_versions(settings: Settings) -> LegalVersions:
    return LegalVersions(privacy=settings.privacy_policy_version, terms=settings.terms_version)


@dataclass(frozen=True, slots=True)
class Database:
    """The database tier as the shop uses it: units of work, health probes, how to let go."""

    uow: UnitOfWorkFactory
    probes: list[TierProbe]
    close: Callable[[], Awaitable[None]]
    max_group: int = MAX_GROUP  # orders one transaction may take together
    # Closes pooled connections before a SnapStart snapshot; none for DynamoDB, whose HTTP
    # client (botocore) retries a request that meets a dead pooled connection.
    release: Callable[[], Awaitable[None]] | None = None


def is_dynamodb(database_url: str) -> bool:
    """A `dynamodb://TABLE` URL; told by its scheme here, like the cache's and the store's, so
    that SQL shops never import the DynamoDB adapters (and boto3)."""
    return urlsplit(database_url).scheme == "dynamodb"


def build_database(
    settings: Settings, profile: RuntimeProfile, tracing: Tracing | None = None
) -> Database:
    """SQL through SQLAlchemy, or one DynamoDB table for `dynamodb://TABLE?region=…`; with
    `tracing`, a span per SQL statement (DynamoDB's calls are traced as botocore's), and each
    event the outbox records carries the trace context it was recorded in."""
    tracer = tracing.tracer if tracing is not None else NO_TRACER
    if is_dynamodb(settings.database_url):
        from cloudmall.adapters.dynamodb.client import DynamoClient, TableAddress
        from cloudmall.adapters.dynamodb.probe import TableProbe
        from cloudmall.adapters.dynamodb.transaction import MAX_ORDERS_PER_TRANSACTION
        from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory

        client = DynamoClient(TableAddress.parse(settings.database_url))
        return Database(
            DynamoUnitOfWorkFactory(client, tracer=tracer),
            [TableProbe(client)],
            client.aclose,
            max_group=MAX_ORDERS_PER_TRANSACTION,
        )
    engine = create_engine(
        settings.database_url,
        pool_size=profile.db_pool_size,
        password_source=database_password_source(settings),
    )
    if tracing is not None:
        tracing.instrument_engine(engine)
    return Database(
        SqlUnitOfWorkFactory(engine, tracer=tracer),
        [DatabaseProbe(engine), MigrationsProbe(engine, _history(settings))],
        engine.dispose,
        release=engine.dispose,  # the engine stays usable: a new pool opens on demand
    )


def inject_dependencies(handler: Handler, dependencies: Mapping[str, object]) -> BoundHandler:
    """The handler with every tier it names after the command bound, so it takes the command
    alone. Raises KeyError naming a tier the dependencies lack."""
    names = list(inspect.signature(handler).parameters)[1:]
    return functools.partial(handler, **{name: dependencies[name] for name in names})


def bind_handlers(dependencies: Mapping[str, object]) -> dict[type[Any], BoundHandler]:
    """Every handler whose tiers are all at hand (an entrypoint that has no presenter, the CLI,
    gets no catalogue reads)."""
    bound = {}
    for command, handler in HANDLERS.items():
        names = list(inspect.signature(handler).parameters)[1:]
        if all(name in dependencies for name in names):
            bound[command] = inject_dependencies(handler, dependencies)
    return bound


def build_shop(settings: Settings, *, present: CatalogPresenter | None = None) -> Shop:
    """The shop for this process and runtime; `present` writes catalogue answers (web's JSON)."""
    profile = runtime_profile(settings)
    tracing = build_tracing(settings)
    tracer = tracing.tracer if tracing is not None else NO_TRACER
    database = build_database(settings, profile, tracing)
    uow = database.uow
    metrics = build_metrics(profile)
    cache = build_cache(settings.cache_url)
    catalog_cache = CatalogCache(
        cache, ttl_seconds=settings.catalog_cache_ttl_seconds, metrics=metrics
    )
    # Served media keys are content hashes: once read, an object can stay in memory.
    store = CachedObjectStore(
        build_store(settings.storage_url), max_bytes=32 * 1024 * 1024, max_object_bytes=2 << 20
    )
    limits = order_limits(settings)
    # The contexts as each other sees them: over HTTP where another service owns one (the
    # services topology), else in this process, each in its own transactions.
    remote = build_remote_desks(settings)
    stock = remote.stock or LocalStockDesk(uow, catalog_cache, settings.reservation_minutes)
    gateway = SimulatedGateway(settings.payment_ledger)
    placer = build_placer(
        profile, uow, stock, metrics, limits, max_group=database.max_group, tracer=tracer
    )
    lake_queries: LakeQueries = NoLakeEngine()
    event_lake: EventLake = NoLakeEngine()
    if profile.lake_engine:
        lake_queries = LakeQueriesOnDemand(settings.lake_url)
        event_lake = EventLakeOnDemand(build_store(settings.lake_url))
    reset_tokens = JwtPasswordResetTokens(
        secret=settings.secret_key.get_secret_value(),
        issuer=settings.token_issuer,
        audience=f"{settings.token_audience}:password-reset",
        ttl_seconds=settings.password_reset_ttl_seconds,
    )
    mailer = build_mail_reader(settings, uow, reset_tokens, tracer)
    tokens = build_access_tokens(settings)
    background: list[Background] = []
    # Each context's background work runs where its tables are: every piece in the monolith, a
    # service's own alone in the services topology (the relay runs in every one).
    if (
        profile.mail_loop
        and _owns(settings, "users")
        and MAIL_CONSUMER in settings.outbox_consumers
    ):
        background.append(
            BackgroundLoop(
                mailer,
                backoff=Backoff(
                    interval=settings.mail_poll_seconds, max_delay=settings.mail_retry_max_seconds
                ),
            )
        )
    sweeper = StockSweeper(uow, catalog_cache)
    stock_loops = profile.mail_loop and _owns(settings, "products")
    if stock_loops:
        background.append(
            BackgroundLoop(
                sweeper, backoff=Backoff(interval=SWEEP_SECONDS, max_delay=SWEEP_MAX_DELAY_SECONDS)
            )
        )
    if stock_loops and STOCK_CONSUMER in settings.outbox_consumers:
        reader = stock_reader(
            uow,
            catalog_cache,
            batch_size=settings.mail_batch_size,
            consumers=tuple(settings.outbox_consumers),
            tracer=tracer,
        )
        background.append(
            BackgroundLoop(
                reader,
                backoff=Backoff(
                    interval=settings.mail_poll_seconds, max_delay=settings.mail_retry_max_seconds
                ),
            )
        )
    if (
        profile.mail_loop
        and _owns(settings, "orders")
        and ORDERS_CONSUMER in settings.outbox_consumers
    ):
        reader = orders_reader(
            uow,
            batch_size=settings.mail_batch_size,
            consumers=tuple(settings.outbox_consumers),
            tracer=tracer,
        )
        background.append(
            BackgroundLoop(
                reader,
                backoff=Backoff(
                    interval=settings.mail_poll_seconds, max_delay=settings.mail_retry_max_seconds
                ),
            )
        )
    order_book = remote.order_book or LocalOrderBook(uow, stock)
    reconciler = PaymentReconciler(
        uow, gateway, order_book, metrics, grace_seconds=settings.payment_grace_seconds
    )
    if profile.mail_loop and _owns(settings, "payments"):
        background.append(
            BackgroundLoop(
                reconciler,
                backoff=Backoff(interval=RECONCILE_SECONDS, max_delay=RECONCILE_MAX_DELAY_SECONDS),
            )
        )
    broker = (
        build_broker(settings.broker_url.get_secret_value(), max_len=settings.broker_max_len)
        if BROKER_CONSUMER in settings.outbox_consumers  # the settings saw to its URL
        else None
    )
    relay = build_relay(settings, uow, broker)
    access_board = build_access_board(settings)
    publisher = build_access_publisher(settings, uow, access_board)
    if profile.mail_loop:
        loops: list[Follower] = [relay] if relay is not None else []
        if publisher is not None:
            loops.append(publisher)
        loops.extend(build_event_groups(settings, uow, broker, catalog_cache, tracer))
        for loop in loops:
            background.append(
                BackgroundLoop(
                    loop,
                    backoff=Backoff(
                        interval=settings.broker_poll_seconds, max_delay=RELAY_MAX_DELAY_SECONDS
                    ),
                )
            )
        mail_group = build_mail_group(settings, mailer, broker)
        if mail_group is not None:
            background.append(
                BackgroundLoop(
                    mail_group,
                    backoff=Backoff(
                        interval=settings.broker_poll_seconds,
                        max_delay=settings.mail_retry_max_seconds,
                    ),
                )
            )
    dependencies: dict[str, object] = {
        "uow": uow,
        "cache": catalog_cache,
        "store": store,
        "metrics": metrics,
        "tracer": tracer,
        "placer": placer,
        "order_limits": limits,
        "gateway": gateway,
        "stock_desk": stock,
        "price_list": remote.price_list or LocalPriceList(uow),
        "address_book": remote.address_book or LocalAddressBook(uow),
        "order_book": order_book,
        "payment_desk": remote.payment_desk or LocalPaymentDesk(uow, gateway, metrics),
        "hasher": Argon2PasswordHasher(),
        "token_verifier": tokens.verifier,
        "images": PillowImageProcessor(
            max_bytes=settings.image_max_bytes,
            max_pixels=settings.image_max_pixels,
            thumbnail_size=settings.thumbnail_size,
        ),
        "throttles": build_throttles(settings, cache),
        "access": build_access(settings, uow, access_board, metrics),
        "sessions": RefreshSessions(lifetime_seconds=settings.refresh_token_days * 86_400),
        "legal": legal_versions(settings),
        "shop_info": build_shop_info(settings),
        "probes": build_probes(settings, database.probes, cache, catalog_cache, store),
        "exporter": Exporter(
            uow=uow,
            lake=event_lake,
            batch_size=settings.lake_batch_size,
            consumers=tuple(settings.outbox_consumers),
        ),
        "event_lake": event_lake,
        "lake_queries": lake_queries,
        "mailer": mailer,
        "stock_sweeper": sweeper,
        "payment_reconciler": reconciler,
        "reset_tokens": reset_tokens,
        "currency": settings.currency,
        "low_stock_threshold": settings.low_stock_threshold,
    }
    if tokens.issuer is not None:  # else log-in, sign-up and refresh are not wired here
        dependencies["token_issuer"] = tokens.issuer
    if present is not None:
        dependencies["present"] = present
    closers = [placer.aclose, database.close, cache.aclose]
    closers.extend(client.aclose for client in remote.clients)
    if relay is not None:
        dependencies["relay"] = relay
    if broker is not None:
        closers.append(broker.aclose)
    if access_board is not None:
        closers.append(access_board.aclose)
    return Shop(
        bind_handlers(dependencies),
        tiers=MappingProxyType(dependencies),
        metrics=metrics,
        catalog_cache=catalog_cache,
        watch_catalog=profile.local_cache,
        closers=closers,
        releasers=[database.release] if database.release else [],
        background=background,
    )


def _owns(settings: Settings, context: str) -> bool:
    """Whether this process's database holds the context's tables (the monolith's holds all)."""
    return settings.service is None or settings.service.value == context


def _history(settings: Settings) -> str | None:
    """Whose migrations the database follows: a service's context's, or the monolith's."""
    return None if settings.service is None else settings.service.value


async def migrate(settings: Settings) -> None:
    """Bring the database to the newest schema (creates it on an empty database); a DynamoDB
    table is created with its indexes if it does not exist."""
    if is_dynamodb(settings.database_url):
        from cloudmall.adapters.dynamodb.client import DynamoClient, TableAddress
        from cloudmall.adapters.dynamodb.table import create_table

        client = DynamoClient(TableAddress.parse(settings.database_url))
        try:
            await create_table(client)
        finally:
            await client.aclose()
        return
    from cloudmall.adapters.db.migrations import upgrade  # Alembic: see the imports above

    await upgrade(
        settings.database_url,
        password_source=database_password_source(settings),
        context=_history(settings),
    )


async def ensure_database(server_url: str, name: str, *, password: str) -> str:
    """The URL of the database `name` on a MariaDB/MySQL or PostgreSQL server as its own user
    (`name`, `password`), both created if new."""
    from cloudmall.adapters.db.databases import ensure_database as ensure  # `services run` only

    return await ensure(server_url, name, password=password)


@asynccontextmanager
async def open_backup_database(database_url: str) -> AsyncIterator[BackupDatabase]:
    """The database as backup and restore see it, its connections closed afterwards."""
    if is_dynamodb(database_url):
        from cloudmall.adapters.dynamodb.client import DynamoClient, TableAddress
        from cloudmall.adapters.dynamodb.snapshot import dynamo_backup_database

        client = DynamoClient(TableAddress.parse(database_url))
        async with dynamo_backup_database(client) as table:
            yield table
        return
    from cloudmall.adapters.db.snapshot import backup_database  # Alembic: see the imports above

    database = backup_database(database_url)
    try:
        yield database
    finally:
        await database.engine.dispose()


def scratch_backup_database() -> AbstractAsyncContextManager[BackupDatabase]:
    """A new, empty SQLite database in a temporary folder (trial restores), removed afterwards."""
    from cloudmall.adapters.db.snapshot import scratch_sqlite  # Alembic: see the imports above

    return scratch_sqlite()


def tier_failure(exc: BaseException) -> str | None:
    """What a tier's failure (database, object store, files, bad URL) says, for a one-line error;
    None for anything else (a bug, to be seen whole)."""
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {getattr(exc, 'orig', None) or exc}"
    if isinstance(
        exc,
        DatabaseUnavailable
        | StorageUnavailable
        | BrokerUnavailable
        | OSError
        | ValueError
        | RuntimeError,
    ):
        return str(exc).strip() or type(exc).__name__
    return None
