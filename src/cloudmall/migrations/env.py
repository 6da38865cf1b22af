"""Alembic environment: runs migrations through cloudmall's own async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from cloudmall.adapters.db.engine import WRITE_OPTION, create_engine
from cloudmall.adapters.db.tables import metadata

config = context.config


MIGRATION_LOCK = "cloudmall_migrations"
PG_LOCK_ID = 0x636C6F75  # any fixed 64-bit number; "clou"


def _lock(connection: Connection) -> None:
    """Serialise concurrent `cloudmall migrate` runs (every new instance of an ASG runs one)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({PG_LOCK_ID})")
    elif connection.dialect.name in ("mysql", "mariadb"):
        connection.exec_driver_sql(f"SELECT GET_LOCK('{MIGRATION_LOCK}', 300)")


def _unlock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_LOCK_ID})")
    elif connection.dialect.name in ("mysql", "mariadb"):
        connection.exec_driver_sql(f"SELECT RELEASE_LOCK('{MIGRATION_LOCK}')")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
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
            await connection.run_sync(_lock)
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
