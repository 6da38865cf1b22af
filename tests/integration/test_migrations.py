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


async def test_mysql_migrate_without_the_lock_migrates_nothing(tmp_path: Path) -> None:
    """GET_LOCK times out (another run holds the lock): no migration runs without it."""
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import MIGRATION_LOCK, MigrationLockTimeout, upgrade
    from tests.support import scratch_database

    with scratch_database("mariadb", tmp_path) as url:
        holder = create_engine(url)
        try:
            async with holder.connect() as conn:
                held = await conn.execute(text(f"SELECT GET_LOCK({MIGRATION_LOCK}, 0)"))
                assert held.scalar() == 1
                with pytest.raises(MigrationLockTimeout, match="nothing was migrated"):
                    await upgrade(url, lock_timeout_seconds=1)
                assert await current_revision(holder) is None  # no schema was created
                await conn.execute(text(f"SELECT RELEASE_LOCK({MIGRATION_LOCK})"))
            await upgrade(url, lock_timeout_seconds=1)  # free again: it migrates
            assert await current_revision(holder) == head_revision()
        finally:
            await holder.dispose()


async def test_mysql_migration_lock_is_per_database(tmp_path: Path) -> None:
    """GET_LOCK names are server-wide: another shop's migration on the same server (its lock
    held) does not hold this one back."""
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import MIGRATION_LOCK, upgrade
    from tests.support import scratch_database

    with (
        scratch_database("mariadb", tmp_path / "other") as other_url,
        scratch_database("mariadb", tmp_path / "this") as url,
    ):
        other = create_engine(other_url)
        this = create_engine(url)
        try:
            async with other.connect() as conn:
                held = await conn.execute(text(f"SELECT GET_LOCK({MIGRATION_LOCK}, 0)"))
                assert held.scalar() == 1
                await upgrade(url, lock_timeout_seconds=1)
                assert await current_revision(this) == head_revision()
                await conn.execute(text(f"SELECT RELEASE_LOCK({MIGRATION_LOCK})"))
        finally:
            await other.dispose()
            await this.dispose()


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


async def test_free_text_categories_become_rows_and_the_schema_matches_the_tables(
    database_url: str,
) -> None:
    """Up to 0007 with products already there: each category text becomes a row (known slugs
    named in both languages), products gain their English texts and list price (empty), the
    migrated schema is the one the code's tables describe, and it goes down and up again."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import alembic_config
    from cloudmall.adapters.db.tables import metadata

    config = alembic_config(database_url)
    migration = ScriptDirectory.from_config(config).get_revision("0007")
    assert migration is not None and isinstance(migration.down_revision, str)
    before = migration.down_revision
    await anyio.to_thread.run_sync(command.upgrade, config, before)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for name, category in (("셔츠", "clothing"), ("의자", "outdoor"), ("책", "clothing")):
                await conn.execute(
                    text(
                        "INSERT INTO products (name, price, description, stock_quantity, "
                        "category, is_active, created_at, updated_at) "
                        "VALUES (:name, 1000, '', 1, :category, :active, :t, :t)"
                    ),
                    {"name": name, "category": category, "active": True, "t": datetime(2026, 1, 1)},
                )
        await anyio.to_thread.run_sync(command.upgrade, config, "0007")
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT slug, name, name_en FROM categories ORDER BY slug"))
            ).all()
            extra = (
                await conn.execute(text("SELECT name_en, description_en, list_price FROM products"))
            ).all()
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert [tuple(row) for row in rows] == [
            ("clothing", "의류", "Clothing"),
            ("outdoor", "outdoor", "outdoor"),  # unknown: its slug until staff rename it
        ]
        assert {tuple(row) for row in extra} == {(None, None, None)}
        mine = ("categories", "name_en", "description_en", "list_price")
        assert not [d for d in differences if any(word in repr(d) for word in mine)], differences
        await anyio.to_thread.run_sync(command.downgrade, config, before)
        await anyio.to_thread.run_sync(command.upgrade, config, "head")
    finally:
        await engine.dispose()


async def test_the_inbox_arrives_goes_and_matches_the_tables(database_url: str) -> None:
    """0007 → 0008 and back: the inbox table with its unique (consumer, event id), as the code's
    tables describe it."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    from cloudmall.adapters.db.migrations import alembic_config
    from cloudmall.adapters.db.tables import metadata

    config = alembic_config(database_url)
    await anyio.to_thread.run_sync(command.upgrade, config, "0007")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "inbox_events" not in tables
        await anyio.to_thread.run_sync(command.upgrade, config, "0008")
        insert = text(
            "INSERT INTO inbox_events (consumer, event_id, handled_at) VALUES ('c', 'e', :t)"
        )
        async with engine.begin() as conn:
            await conn.execute(insert, {"t": datetime(2026, 12, 2)})
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert, {"t": datetime(2026, 12, 2)})
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert not [d for d in differences if "inbox_events" in repr(d)], differences
        await anyio.to_thread.run_sync(command.downgrade, config, "0007")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "inbox_events" not in tables
        await anyio.to_thread.run_sync(command.upgrade, config, "head")
    finally:
        await engine.dispose()
