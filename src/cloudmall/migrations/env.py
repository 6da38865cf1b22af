"""Alembic environment: runs migrations through cloudmall's own async engine."""

from __future__ import annotations

import asyncio
import fcntl
import time
from pathlib import Path
from typing import IO

from alembic import context
from sqlalchemy.engine import Connection

from cloudmall.adapters.db.engine import WRITE_OPTION, create_engine
from cloudmall.adapters.db.migrations import (
    LOCK_TIMEOUT_SECONDS,
    MIGRATION_LOCK,
    MigrationLockTimeout,
)
from cloudmall.adapters.db.schema_version import schema_is_ahead
from cloudmall.adapters.db.tables import metadata

config = context.config


PG_LOCK_ID = 0x636C6F75  # any fixed 64-bit number; "clou"
#: SQLite's migration lock while this process holds it: a file beside the database, locked
#: with flock for the whole run (read the revision, migrate, commit), since a write transaction
#: alone was seen to let two runs apply one migration each (duplicate column).
_sqlite_lock: list[IO[str]] = []


def _lock_sqlite(database: str, timeout_seconds: int) -> None:
    handle = Path(f"{database}.migrating").open("a")  # noqa: SIM115 - held until _unlock
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise MigrationLockTimeout(
                    f"another `cloudmall migrate` held the migration lock for "
                    f"{timeout_seconds} s; nothing was migrated (run it again once that one "
                    "has finished)"
                ) from None
            time.sleep(0.05)
        else:
            _sqlite_lock.append(handle)
            return


def _lock(connection: Connection, timeout_seconds: int) -> None:
    """Serialise concurrent `cloudmall migrate` runs; on MySQL, give up (and migrate nothing)
    when the lock is not ours within ``timeout_seconds``."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({PG_LOCK_ID})")
    elif connection.dialect.name in ("mysql", "mariadb"):
        got = connection.exec_driver_sql(
            f"SELECT GET_LOCK({MIGRATION_LOCK}, {int(timeout_seconds)})"
        ).scalar()
        if got != 1:  # 0: timed out; NULL: an error (killed, out of memory)
            raise MigrationLockTimeout(
                f"another `cloudmall migrate` held the migration lock for {timeout_seconds} s; "
                "nothing was migrated (run it again once that one has finished)"
            )
    elif connection.dialect.name == "sqlite":
        database = connection.engine.url.database
        if database and database != ":memory:":
            _lock_sqlite(database, timeout_seconds)


def _unlock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_LOCK_ID})")
    elif connection.dialect.name in ("mysql", "mariadb"):
        connection.exec_driver_sql(f"SELECT RELEASE_LOCK({MIGRATION_LOCK})")
    while _sqlite_lock:
        handle = _sqlite_lock.pop()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _run(connection: Connection) -> None:
    history = config.attributes.get("context")  # None: the monolith's
    if history is None:
        target = metadata
    else:
        from cloudmall.adapters.db.contexts import context_metadata

        target = context_metadata(history)
    context.configure(
        connection=connection,
        target_metadata=target,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    current = context.get_context().get_current_revision()
    if schema_is_ahead(current, history):
        # a newer release migrated it (expand/contract): this older code runs on it as it is
        print(f"schema at {current}, ahead of this release: nothing to migrate")
        return
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(
        str(url), pool_size=1, password_source=config.attributes.get("password_source")
    )
    try:
        async with engine.connect() as connection:
            # SQLite: take the write lock at BEGIN, so concurrent runs wait instead of failing.
            connection = await connection.execution_options(**{WRITE_OPTION: True})
            timeout = int(config.attributes.get("lock_timeout_seconds", LOCK_TIMEOUT_SECONDS))
            await connection.run_sync(_lock, timeout)
            await connection.commit()
            try:
                await connection.run_sync(_run)
                await connection.commit()
            finally:
                await connection.run_sync(_unlock)
                await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("cloudmall migrations run online only: `cloudmall migrate`")
asyncio.run(_run_online())
