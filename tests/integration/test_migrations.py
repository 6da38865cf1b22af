"""Migrations: one Alembic history on every backend, safe to run from several instances at once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import current_revision, head_revision

pytestmark = pytest.mark.anyio


def migrate_three_at_once(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "CLOUDMALL_DATABASE_URL": database_url, "CLOUDMALL_VAR_DIR": str(tmp_path)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "cloudmall", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs


async def test_concurrent_migrate_commands_end_at_head(database_url: str, tmp_path: Path) -> None:
    await anyio.to_thread.run_sync(migrate_three_at_once, database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_token_versions_arrive_on_existing_users_and_match_the_tables(
    database_url: str,
) -> None:
    """0001 → 0002 with a user already there: the user gets version 0; the migrated schema is
    the one the code's tables describe (no difference left for autogenerate to find)."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import alembic_config
    from cloudmall.adapters.db.tables import metadata

    config = alembic_config(database_url)
    await anyio.to_thread.run_sync(command.upgrade, config, "0001")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (email, password_hash, name, role, created_at, updated_at) "
                    "VALUES ('old@example.com', 'x', 'Old', 'admin', :t, :t)"
                ),
                {"t": datetime(2026, 1, 1)},
            )
        await anyio.to_thread.run_sync(command.upgrade, config, "head")
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT token_version FROM users"))).scalar_one()
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert version == 0
        assert not [d for d in differences if "token_version" in repr(d)], differences
        await anyio.to_thread.run_sync(command.downgrade, config, "0001")
        await anyio.to_thread.run_sync(command.upgrade, config, "head")
    finally:
        await engine.dispose()
