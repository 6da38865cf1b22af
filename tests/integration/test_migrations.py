"""Migrations: one Alembic history on every backend, safe to run from several instances at once."""

from __future__ import annotations

import os
import subprocess
import sys
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


async def test_mysql_migrate_without_the_lock_migrates_nothing(tmp_path: Path) -> None:
    """GET_LOCK times out (another run holds the lock): no migration runs without it."""
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import MIGRATION_LOCK, MigrationLockTimeout, upgrade
    from tests.support import scratch_database

    with scratch_database("mariadb", tmp_path) as url:
        holder = create_engine(url)
        try:
            async with holder.connect() as conn:
                held = await conn.execute(text(f"SELECT GET_LOCK('{MIGRATION_LOCK}', 0)"))
                assert held.scalar() == 1
                with pytest.raises(MigrationLockTimeout, match="nothing was migrated"):
                    await upgrade(url, lock_timeout_seconds=1)
                assert await current_revision(holder) is None  # no schema was created
                await conn.execute(text(f"SELECT RELEASE_LOCK('{MIGRATION_LOCK}')"))
            await upgrade(url, lock_timeout_seconds=1)  # free again: it migrates
            assert await current_revision(holder) == head_revision()
        finally:
            await holder.dispose()


async def test_an_older_release_runs_on_a_schema_a_newer_one_migrated(
    database_url: str, tmp_path: Path
) -> None:
    """Roll back after an (expand) migration: `migrate` leaves the newer schema alone and the
    readiness check accepts it, so the previous release's instances boot and serve."""
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import schema_is_ahead, upgrade

    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:  # what a newer release's expand migration leaves
            await conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe9999'"))
        assert schema_is_ahead(await current_revision(engine))
        await upgrade(database_url)  # no "Can't locate revision": nothing to do
        assert await current_revision(engine) == "f00dcafe9999"
        assert not schema_is_ahead(head_revision())
        assert not schema_is_ahead(None)
    finally:
        await engine.dispose()
