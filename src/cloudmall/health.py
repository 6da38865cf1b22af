"""Tier checks for /readyz and `cloudmall check`: database, migrations, cache, object store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cloudmall.adapters.db.migrations import current_revision, head_revision, schema_is_ahead
from cloudmall.bootstrap import Container

TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class TierStatus:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failing optional tier degrades the instance but keeps it in service


async def _timed(check: Awaitable[str]) -> tuple[bool, str]:
    try:
        return True, await asyncio.wait_for(check, TIMEOUT_SECONDS)
    except TimeoutError:
        return False, f"no answer within {TIMEOUT_SECONDS:g} s"
    except DBAPIError as exc:  # the driver's own words, without SQLAlchemy's wrapping
        return False, _one_line(exc.orig or exc)
    except Exception as exc:  # every failure is reported, none is raised
        return False, _one_line(exc)


def _one_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200] or type(exc).__name__


async def _database(container: Container) -> str:
    async with container.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        version = conn.dialect.server_version_info
    dialect = container.engine.dialect.name
    return f"{dialect} {'.'.join(str(part) for part in version or ())}".strip()


async def _migrations(container: Container) -> str:
    current, head = await current_revision(container.engine), head_revision()
    if current != head and schema_is_ahead(current):
        return f"at {current}, ahead of this release's {head} (expand/contract)"
    if current != head:
        raise RuntimeError(
            f"schema at {current or 'nothing'}, code expects {head}: run `cloudmall migrate`"
        )
    return f"at {current}"


async def _cache(container: Container) -> str:
    await container.cache.ping()
    listening = "listening" if container.catalog_cache.listening else "not listening"
    return f"{container.settings.cache_url.split('://', 1)[0]}, invalidations {listening}"


async def _store(container: Container) -> str:
    await container.store.ping()
    return container.settings.storage_url.split("://", 1)[0]


async def check_tiers(container: Container, *, migrations: bool = True) -> list[TierStatus]:
    checks: list[tuple[str, Awaitable[str], bool]] = [
        ("database", _database(container), True),
        ("cache", _cache(container), False),
        ("object store", _store(container), True),
    ]
    if migrations:
        checks.insert(1, ("migrations", _migrations(container), True))
    results = await asyncio.gather(*(_timed(check) for _, check, _ in checks))
    return [
        TierStatus(name=name, ok=ok, detail=detail, required=required)
        for (name, _, required), (ok, detail) in zip(checks, results, strict=True)
    ]
