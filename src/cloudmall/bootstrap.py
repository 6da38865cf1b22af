"""The composition root: settings in, concrete adapters out. The one place that names them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.cache.redis import RedisCache
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.images.pillow import PillowImageProcessor
from cloudmall.adapters.metrics import PrometheusMetrics
from cloudmall.adapters.payments.simulated import SimulatedGateway
from cloudmall.adapters.security.passwords import Argon2PasswordHasher
from cloudmall.adapters.security.tokens import JwtTokenCodec
from cloudmall.adapters.storage.cached import CachedObjectStore
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.adapters.storage.s3 import S3ObjectStore
from cloudmall.config import Settings
from cloudmall.services.access import AccessCheck
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.media_links import MediaLinks
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.ports import (
    Cache,
    Counter,
    ImageProcessor,
    Metrics,
    ObjectStore,
    PasswordHasher,
    PaymentGateway,
    TokenCodec,
    UnitOfWorkFactory,
)
from cloudmall.services.rate_limit import Limit, RateLimiter, SlowDown, Throttles


@dataclass
class Container:
    """Everything a request or a command needs, built once per process."""

    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    cache: Cache
    catalog_cache: CatalogCache
    store: ObjectStore
    gateway: PaymentGateway
    hasher: PasswordHasher
    tokens: TokenCodec
    images: ImageProcessor
    metrics: Metrics
    links: MediaLinks
    orders: OrderDesk
    throttles: Throttles
    access: AccessCheck

    async def aclose(self) -> None:
        await self.orders.aclose()
        await self.engine.dispose()
        if isinstance(self.cache, RedisCache):
            await self.cache.aclose()


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


def build_container(settings: Settings) -> Container:
    engine = create_engine(settings.database_url)
    uow = SqlUnitOfWorkFactory(engine)
    metrics = PrometheusMetrics()
    cache = build_cache(settings.cache_url)
    catalog_cache = CatalogCache(
        cache, ttl_seconds=settings.catalog_cache_ttl_seconds, metrics=metrics
    )
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        cache=cache,
        catalog_cache=catalog_cache,
        # Served media keys are content hashes: once read, an object can stay in memory.
        store=CachedObjectStore(
            build_store(settings.storage_url),
            max_bytes=32 * 1024 * 1024,
            max_object_bytes=2 * 1024 * 1024,
        ),
        gateway=SimulatedGateway(),
        hasher=Argon2PasswordHasher(),
        tokens=JwtTokenCodec(
            secret=settings.secret_key.get_secret_value(),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl_seconds=settings.token_ttl_seconds,
        ),
        images=PillowImageProcessor(
            max_bytes=settings.image_max_bytes,
            max_pixels=settings.image_max_pixels,
            thumbnail_size=settings.thumbnail_size,
        ),
        metrics=metrics,
        links=MediaLinks(settings.cdn_base_url),
        orders=OrderDesk(
            uow=uow,
            cache=catalog_cache,
            metrics=metrics,
            limits=OrderLimits(
                max_lines=settings.max_order_lines,
                max_quantity=settings.max_line_quantity,
                max_total=settings.max_order_total,
            ),
        ),
        throttles=build_throttles(settings, cache),
        access=AccessCheck(uow, ttl_seconds=settings.auth_cache_seconds),
    )
