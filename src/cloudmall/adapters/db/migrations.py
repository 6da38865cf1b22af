"""Applying and inspecting Alembic migrations from code (the CLI and the readiness check)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.db.engine import PasswordSource


def alembic_config(database_url: str, password_source: PasswordSource | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "cloudmall:migrations")
    config.attributes["database_url"] = database_url
    config.attributes["password_source"] = password_source
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def upgrade(database_url: str, password_source: PasswordSource | None = None) -> None:
    """Bring the database to the newest schema (Alembic runs its own event loop in a thread)."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url, password_source), "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )
