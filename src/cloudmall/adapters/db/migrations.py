"""Applying Alembic migrations from code (`cloudmall migrate`); the readiness check reads the
revision without Alembic (adapters.db.schema_version)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from cloudmall.adapters.db.engine import PasswordSource
from cloudmall.adapters.db.schema_version import versions_dir

LOCK_TIMEOUT_SECONDS = 300
# MySQL/MariaDB GET_LOCK names are server-wide: the name carries the database's, so shops that
# share a server do not wait for each other's migrations (PostgreSQL's advisory locks are per
# database already). LEFT keeps it within MySQL's 64-character limit.
MIGRATION_LOCK = "CONCAT('cloudmall_migrations.', LEFT(DATABASE(), 34))"  # an SQL expression


class MigrationLockTimeout(RuntimeError):
    """Another `cloudmall migrate` kept the migration lock; this one migrated nothing."""


def alembic_config(
    database_url: str,
    *,
    lock_timeout_seconds: int = LOCK_TIMEOUT_SECONDS,
    password_source: PasswordSource | None = None,
    context: str | None = None,
) -> Config:
    """Alembic's configuration for the monolith's history, or (`context`) a context's alone."""
    config = Config()
    config.set_main_option("script_location", "cloudmall:migrations")
    config.set_main_option("path_separator", "os")
    if context is not None:
        config.set_main_option("version_locations", str(versions_dir(context)))
    config.attributes["context"] = context
    config.attributes["database_url"] = database_url
    config.attributes["lock_timeout_seconds"] = lock_timeout_seconds
    config.attributes["password_source"] = password_source
    return config


async def upgrade(
    database_url: str,
    *,
    lock_timeout_seconds: int = LOCK_TIMEOUT_SECONDS,
    password_source: PasswordSource | None = None,
    context: str | None = None,
) -> None:
    """Bring the database to the newest schema (Alembic runs its own event loop in a thread):
    the monolith's, or with `context` the schema of that context's database alone.

    Raises :class:`MigrationLockTimeout` when another run keeps the lock longer than
    ``lock_timeout_seconds`` (MySQL/MariaDB; PostgreSQL waits for its advisory lock).
    """
    config = alembic_config(
        database_url,
        lock_timeout_seconds=lock_timeout_seconds,
        password_source=password_source,
        context=context,
    )
    await asyncio.to_thread(command.upgrade, config, "head")
