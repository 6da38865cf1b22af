"""The composition root: settings in, a Shop out. The one place that names concrete adapters.

It builds each tier once per process, chooses for the runtime (`CLOUDMALL_RUNTIME`) how orders
are placed, which cache levels run and where metrics go, and binds every command's handler to
the tiers it names (in the spirit of cosmicpython's `bootstrap.inject_dependencies`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.cache.redis import RedisCache
from cloudmall.adapters.db.engine import PasswordSource, create_engine
from cloudmall.adapters.db.iam_auth import RdsIamTokens
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.snapshot import backup_database, scratch_sqlite
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.images.pillow import PillowImageProcessor
from cloudmall.adapters.lake.absent import NoLakeEngine
from cloudmall.adapters.lake.on_demand import EventLakeOnDemand, LakeQueriesOnDemand
from cloudmall.adapters.metrics import PrometheusMetrics
from cloudmall.adapters.payments.simulated import SimulatedGateway
from cloudmall.adapters.probes import CacheProbe, DatabaseProbe, MigrationsProbe, StoreProbe
from cloudmall.adapters.security.passwords import Argon2PasswordHasher
from cloudmall.adapters.security.tokens import JwtTokenCodec
from cloudmall.adapters.storage.cached import CachedObjectStore
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.adapters.storage.s3 import S3ObjectStore
from cloudmall.config import Runtime, Settings
from cloudmall.domain.delivery import DeliveryFees
from cloudmall.services.access import AccessCheck
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.handlers import HANDLERS, Handler
from cloudmall.services.lake import Exporter
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits, OrderPerTransaction, OrderPlacer
from cloudmall.services.ports import (
    BackupDatabase,
    Cache,
    CatalogPresenter,
    Counter,
    DatabaseUnavailable,
    EventLake,
    LakeQueries,
    Metrics,
    ObjectStore,
    StorageUnavailable,
    TierProbe,
)
from cloudmall.services.rate_limit import Limit, RateLimiter, SlowDown, Throttles
from cloudmall.services.shop import BoundHandler, Shop


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


PROFILES: Mapping[Runtime, RuntimeProfile] = {
    Runtime.SERVER: RuntimeProfile(Runtime.SERVER, True, True, True, "prometheus", 10, True),
    # One service of several (EKS): long-lived like a server, scraped by Prometheus.
    Runtime.SERVICE: RuntimeProfile(Runtime.SERVICE, True, True, True, "prometheus", 10, True),
    # One request per instance, frozen in between: no group to gather, no watcher to feed,
    # no scrape target; metrics leave as CloudWatch embedded-metric-format lines.
    Runtime.FUNCTION: RuntimeProfile(Runtime.FUNCTION, False, False, False, "cloudwatch", 1, False),
}


def runtime_profile(settings: Settings) -> RuntimeProfile:
    return PROFILES[settings.runtime]


def database_password_source(settings: Settings) -> PasswordSource | None:
    """IAM tokens per new connection with `CLOUDMALL_DATABASE_IAM_AUTH`; else the URL's password."""
    return RdsIamTokens() if settings.database_iam_auth else None


def build_cache(url: str) -> MemoryCache | RedisCache:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryCache()
    if scheme in ("redis", "rediss"):
        return RedisCache(url)
    raise ValueError(
        f"unsupported CLOUDMALL_CACHE_URL scheme {scheme!r}: use memory:// or redis://"
    )


def build_store(url: str) -> ObjectStore:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalObjectStore(Path(parts.path))
    if parts.scheme == "s3":
        return S3ObjectStore(url)
    raise ValueError(
        f"unsupported CLOUDMALL_STORAGE_URL scheme {parts.scheme!r}: use file:// or s3://"
    )


def build_metrics(profile: RuntimeProfile) -> Metrics:
    if profile.metrics == "cloudwatch":
        # Imported here: aws-lambda-powertools costs a server ~0.2 s of start-up for nothing.
        from cloudmall.adapters.metrics_emf import CloudWatchMetrics

        return CloudWatchMetrics()
    return PrometheusMetrics()


def build_throttles(settings: Settings, counter: Counter) -> Throttles:
    window = settings.login_window_seconds
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
    uow: SqlUnitOfWorkFactory,
    cache: CatalogCache,
    metrics: Metrics,
    limits: OrderLimits,
) -> OrderPlacer:
    if profile.group_commit:
        return OrderDesk(uow=uow, cache=cache, metrics=metrics, limits=limits)
    return OrderPerTransaction(uow=uow, cache=cache, metrics=metrics, limits=limits)


def build_probes(
    settings: Settings, engine: AsyncEngine, cache: Cache, catalog: CatalogCache, store: ObjectStore
) -> list[TierProbe]:
    return [
        DatabaseProbe(engine),
        MigrationsProbe(engine),
        CacheProbe(cache, urlsplit(settings.cache_url).scheme, lambda: catalog.listening),
        StoreProbe(store, urlsplit(settings.storage_url).scheme),
    ]


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
    engine = create_engine(
        settings.database_url,
        pool_size=profile.db_pool_size,
        password_source=database_password_source(settings),
    )
    uow = SqlUnitOfWorkFactory(engine)
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
    placer = build_placer(profile, uow, catalog_cache, metrics, limits)
    lake_queries: LakeQueries = NoLakeEngine()
    event_lake: EventLake = NoLakeEngine()
    if profile.lake_engine:
        lake_queries = LakeQueriesOnDemand(settings.lake_url)
        event_lake = EventLakeOnDemand(build_store(settings.lake_url))
    dependencies: dict[str, object] = {
        "uow": uow,
        "cache": catalog_cache,
        "store": store,
        "metrics": metrics,
        "placer": placer,
        "order_limits": limits,
        "gateway": SimulatedGateway(),
        "hasher": Argon2PasswordHasher(),
        "tokens": JwtTokenCodec(
            secret=settings.secret_key.get_secret_value(),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl_seconds=settings.token_ttl_seconds,
        ),
        "images": PillowImageProcessor(
            max_bytes=settings.image_max_bytes,
            max_pixels=settings.image_max_pixels,
            thumbnail_size=settings.thumbnail_size,
        ),
        "throttles": build_throttles(settings, cache),
        "access": AccessCheck(uow, ttl_seconds=settings.auth_cache_seconds),
        "probes": build_probes(settings, engine, cache, catalog_cache, store),
        "exporter": Exporter(
            uow=uow,
            lake=event_lake,
            batch_size=settings.lake_batch_size,
            consumers=tuple(settings.outbox_consumers),
        ),
        "lake_queries": lake_queries,
        "currency": settings.currency,
        "low_stock_threshold": settings.low_stock_threshold,
    }
    if present is not None:
        dependencies["present"] = present
    return Shop(
        bind_handlers(dependencies),
        tiers=MappingProxyType(dependencies),
        metrics=metrics,
        catalog_cache=catalog_cache,
        watch_catalog=profile.local_cache,
        closers=[placer.aclose, engine.dispose, cache.aclose],
    )


async def migrate(settings: Settings) -> None:
    """Bring the database to the newest schema (creates it on an empty database)."""
    await upgrade(settings.database_url, password_source=database_password_source(settings))


@asynccontextmanager
async def open_backup_database(database_url: str) -> AsyncIterator[BackupDatabase]:
    """The database as backup and restore see it, its connections closed afterwards."""
    database = backup_database(database_url)
    try:
        yield database
    finally:
        await database.engine.dispose()


def scratch_backup_database() -> AbstractAsyncContextManager[BackupDatabase]:
    """A new, empty SQLite database in a temporary folder (trial restores), removed afterwards."""
    return scratch_sqlite()


def tier_failure(exc: BaseException) -> str | None:
    """What a tier's failure (database, object store, files, bad URL) says, for a one-line error;
    None for anything else (a bug, to be seen whole)."""
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {getattr(exc, 'orig', None) or exc}"
    if isinstance(
        exc, DatabaseUnavailable | StorageUnavailable | OSError | ValueError | RuntimeError
    ):
        return str(exc).strip() or type(exc).__name__
    return None
