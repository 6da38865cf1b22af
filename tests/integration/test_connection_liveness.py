"""Pooled connections on the networked backends: pinged only after a pause, replaced when dead."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.db import engine as engine_module
from cloudmall.adapters.db.engine import create_engine

pytestmark = pytest.mark.anyio

_SESSION_ID = {"mariadb": "SELECT CONNECTION_ID()", "postgresql": "SELECT pg_backend_pid()"}
_KILL = {"mariadb": "KILL CONNECTION {}", "postgresql": "SELECT pg_terminate_backend({})"}


@pytest.fixture(params=["mariadb", "postgresql"])  # a local SQLite file has no connection
def backend(request: pytest.FixtureRequest) -> str:
    """The networked backends only; tests/conftest.py's `database_url` gives each a database."""
    return str(request.param)


def count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


async def session_id(engine: AsyncEngine, backend: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(_SESSION_ID[backend]))).scalar_one())


async def test_a_connection_back_a_moment_ago_is_not_pinged(
    backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, pool_size=1)
    pings = count_pings(engine, monkeypatch)
    try:
        first = await session_id(engine, backend)  # a new connection: pinged
        assert await session_id(engine, backend) == first
        assert len(pings) == 1  # back in the pool a moment ago: taken as alive
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        assert await session_id(engine, backend) == first
        assert len(pings) == 2  # idle "long enough": pinged, alive, kept
    finally:
        await engine.dispose()


async def test_a_connection_that_died_while_idle_is_replaced_unnoticed(
    backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, pool_size=1)
    other = create_engine(database_url, pool_size=1)
    try:
        victim = await session_id(engine, backend)
        async with other.connect() as conn:  # as a failover or an idle timeout would
            await conn.execute(text(_KILL[backend].format(victim)))
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        assert await session_id(engine, backend) != victim  # no error: a fresh connection
    finally:
        await engine.dispose()
        await other.dispose()
