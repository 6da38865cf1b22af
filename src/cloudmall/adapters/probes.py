"""Each tier's health as its adapter sees it: the TierProbe port (/readyz, `cloudmall check`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.db.schema_version import current_revision, head_revision, schema_is_ahead
from cloudmall.services.ports import Cache, ObjectStore


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    engine: AsyncEngine
    name: str = "database"
    required: bool = True

    async def check(self) -> str:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                version = conn.dialect.server_version_info
        except DBAPIError as exc:  # the driver's own words, without SQLAlchemy's wrapping
            raise RuntimeError(str(exc.orig or exc)) from None
        dialect = self.engine.dialect.name
        return f"{dialect} {'.'.join(str(part) for part in version or ())}".strip()


@dataclass(frozen=True, slots=True)
class MigrationsProbe:
    engine: AsyncEngine
    context: str | None = None  # whose history: the monolith's (None) or a context's
    name: str = "migrations"
    required: bool = True

    async def check(self) -> str:
        try:
            current, head = await current_revision(self.engine), head_revision(self.context)
        except DBAPIError as exc:
            raise RuntimeError(str(exc.orig or exc)) from None
        if current != head and schema_is_ahead(current, self.context):
            return f"at {current}, ahead of this release's {head} (expand/contract)"
        if current != head:
            raise RuntimeError(
                f"schema at {current or 'nothing'}, code expects {head}: run `cloudmall migrate`"
            )
        return f"at {current}"


@dataclass(frozen=True, slots=True)
class CacheProbe:
    """Optional: a cache that is down costs speed, not service."""

    cache: Cache
    scheme: str
    listening: Callable[[], bool]  # whether this process hears other processes' invalidations
    name: str = "cache"
    required: bool = False

    async def check(self) -> str:
        await self.cache.ping()
        return (
            f"{self.scheme}, invalidations {'listening' if self.listening() else 'not listening'}"
        )


@dataclass(frozen=True, slots=True)
class StoreProbe:
    store: ObjectStore
    scheme: str
    name: str = "object store"
    required: bool = True

    async def check(self) -> str:
        await self.store.ping()
        return self.scheme
