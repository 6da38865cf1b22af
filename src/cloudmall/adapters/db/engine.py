"""Engines per backend: SQLite (embedded), MySQL/MariaDB and PostgreSQL, tuned for each."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}

WRITE_OPTION = "cloudmall_write"
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "cloudmall.returned_at"
STATEMENT_TIMEOUT_SECONDS = 15


def async_url(database_url: str) -> URL:
    """The URL with an async driver: `mysql://` → `mysql+asyncmy://`, and so on."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(
            f"unsupported database {backend!r}: use sqlite, mysql/mariadb or postgresql"
        )
    if "+" not in url.drivername:
        url = url.set(drivername=ASYNC_DRIVERS[backend])
    return url


#: Makes the password for each new connection: (host, port, user) → a password (an IAM token).
PasswordSource = Callable[[str, int, str], str]


def create_engine(
    database_url: str, *, pool_size: int = 10, password_source: PasswordSource | None = None
) -> AsyncEngine:
    """The engine for `database_url`; with `password_source`, every new connection logs in with
    the password it makes then (RDS IAM tokens last 15 minutes, a pooled connection longer)."""
    url = async_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    engine = _server_engine(url, pool_size)
    if password_source is not None:
        _password_per_connection(engine, password_source)
    return engine


def _server_engine(url: URL, pool_size: int) -> AsyncEngine:
    backend = url.get_backend_name()
    options: dict[str, Any] = {
        # Every unit of work ends its transaction itself (commit, or rollback on the way out), so
        # the pool's own ROLLBACK on check-in would be one more round trip for nothing.
        "pool_reset_on_return": None,
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_timeout": 10,
        "pool_recycle": 1800,
    }
    if backend == "mysql":
        # READ COMMITTED: no gap locks, fewer deadlocks; stock is safe through conditional UPDATEs.
        options["isolation_level"] = "READ COMMITTED"
        options["connect_args"] = {"connect_timeout": 5}
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _mysql_session_limits)
        _ping_after_idle(engine)
        return engine
    options["connect_args"] = {
        "timeout": 5,
        "command_timeout": STATEMENT_TIMEOUT_SECONDS,
        "server_settings": {
            "statement_timeout": str(STATEMENT_TIMEOUT_SECONDS * 1000),
            "lock_timeout": str(STATEMENT_TIMEOUT_SECONDS * 1000),
            "application_name": "cloudmall",
        },
    }
    engine = create_async_engine(url, **options)
    _ping_after_idle(engine)
    return engine


def _password_per_connection(engine: AsyncEngine, source: PasswordSource) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def _fresh_password(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params["password"] = source(str(params["host"]), int(params["port"]), str(params["user"]))


def _ping_after_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's pessimistic disconnect handling, but only for connections idle a while.

    A connection handed back to the pool a moment ago is taken as alive (HikariCP's "alive bypass
    window"): under load no request pays a round trip for a ping; after a pause, one does. One
    that died in between fails its first statement within the unit of work's short deadline.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops it and tries another (SQLAlchemy's recipe)
            raise DisconnectionError(f"ping failed: {exc!r}"[:200]) from exc


def _mysql_session_limits(dbapi_connection: Any, _record: Any) -> None:
    """Bound every statement and lock wait (MariaDB and MySQL name the limit differently)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT VERSION()")
    version = str(cursor.fetchone()[0])
    cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {STATEMENT_TIMEOUT_SECONDS}")
    if "MariaDB" in version:
        cursor.execute(f"SET SESSION max_statement_time = {STATEMENT_TIMEOUT_SECONDS}")
    else:
        cursor.execute(f"SET SESSION max_execution_time = {STATEMENT_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (so writers can BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front: no lock upgrade, so no SQLITE_BUSY deadlock.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
