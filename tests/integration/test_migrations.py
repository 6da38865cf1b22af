"""Migrations: one Alembic history on every backend, safe to run from several instances at once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import anyio
import pytest
from alembic import command

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import alembic_config
from cloudmall.adapters.db.schema_version import current_revision, head_revision
from tests.integration.migration_step import MigrationStep, revisions_oldest_first

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


def test_the_readiness_checks_view_of_the_revisions_is_alembics() -> None:
    """schema_version reads revisions from the scripts' file names (no Alembic at a function's
    cold start): the same set and the same head as Alembic's own reading of the scripts."""
    from alembic.script import ScriptDirectory

    from cloudmall.adapters.db.migrations import alembic_config
    from cloudmall.adapters.db.schema_version import known_revisions

    scripts = ScriptDirectory.from_config(alembic_config(""))
    assert known_revisions() == {script.revision for script in scripts.walk_revisions()}
    assert head_revision() == scripts.get_current_head()


async def test_an_older_release_runs_on_a_schema_a_newer_one_migrated(
    database_url: str, tmp_path: Path
) -> None:
    """Roll back after an (expand) migration: `migrate` leaves the newer schema alone and the
    readiness check accepts it, so the previous release's instances boot and serve."""
    from sqlalchemy import text

    from cloudmall.adapters.db.migrations import upgrade
    from cloudmall.adapters.db.schema_version import schema_is_ahead

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


async def test_the_migrated_schema_is_the_one_the_tables_describe(database_url: str) -> None:
    """At head, autogenerate finds no difference between the database and the code's tables:
    no migration forgot a column, an index, a constraint or a type the code declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from cloudmall.adapters.db.migrations import upgrade
    from cloudmall.adapters.db.tables import metadata

    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []


async def test_every_migration_goes_down_and_up_again(database_url: str) -> None:
    """The stairway: each revision in turn is applied, undone and applied again, so every
    downgrade works on the schema its upgrade made (a rollback path that was never run is none)."""
    for revision, before in revisions_oldest_first(database_url):
        config = alembic_config(database_url)
        await anyio.to_thread.run_sync(command.upgrade, config, revision)
        await anyio.to_thread.run_sync(command.downgrade, config, before or "base")
        await anyio.to_thread.run_sync(command.upgrade, config, revision)
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_token_versions_arrive_on_existing_users(database_url: str) -> None:
    """0002 with a user already there: the user gets token version 0."""
    async with MigrationStep(database_url, "0002") as step:
        await step.execute(
            "INSERT INTO users (email, password_hash, name, role, created_at, updated_at) "
            "VALUES ('old@example.com', 'x', 'Old', 'admin', :t, :t)",
            t=datetime(2026, 1, 1),
        )
        await step.apply()
        assert await step.rows("SELECT token_version FROM users") == [(0,)]


async def test_free_text_categories_become_rows(database_url: str) -> None:
    """0007 with products already there: each category text becomes a row (known slugs named in
    both languages), products gain their English texts and list price (empty)."""
    async with MigrationStep(database_url, "0007") as step:
        for name, category in (("셔츠", "clothing"), ("의자", "outdoor"), ("책", "clothing")):
            await step.execute(
                "INSERT INTO products (name, price, description, stock_quantity, "
                "category, is_active, created_at, updated_at) "
                "VALUES (:name, 1000, '', 1, :category, :active, :t, :t)",
                name=name,
                category=category,
                active=True,
                t=datetime(2026, 1, 1),
            )
        await step.apply()
        assert await step.rows("SELECT slug, name, name_en FROM categories ORDER BY slug") == [
            ("clothing", "의류", "Clothing"),
            ("outdoor", "outdoor", "outdoor"),  # unknown: its slug until staff rename it
        ]
        products = await step.rows("SELECT name_en, description_en, list_price FROM products")
        assert set(products) == {(None, None, None)}


async def test_the_inbox_records_an_event_once_per_consumer(database_url: str) -> None:
    """0008: the inbox table, whose unique (consumer, event id) refuses a second record."""
    from sqlalchemy.exc import IntegrityError

    record = (
        "INSERT INTO inbox_events (consumer, event_id, handled_at) VALUES (:consumer, 'e-1', :t)"
    )
    async with MigrationStep(database_url, "0008") as step:
        await step.apply()
        await step.execute(record, consumer="orders", t=datetime(2026, 12, 2))
        await step.execute(record, consumer="payments", t=datetime(2026, 12, 2))
        with pytest.raises(IntegrityError):
            await step.execute(record, consumer="orders", t=datetime(2026, 12, 2))
        assert await step.rows("SELECT consumer FROM inbox_events ORDER BY consumer") == [
            ("orders",),
            ("payments",),
        ]


async def test_existing_orders_hold_their_units_in_reservations(database_url: str) -> None:
    """0009 with orders already there: each gets the reservation `order-<id>` with its lines'
    units (reserved while pending, sold once paid, released when cancelled), its lines and
    payments stay, and the keys across contexts are gone (an order may name any user)."""
    from sqlalchemy.exc import DBAPIError

    placed = datetime(2026, 12, 1, 9, 0)
    async with MigrationStep(database_url, "0009") as step:
        await step.execute(
            "INSERT INTO users (email, password_hash, name, role, created_at, updated_at) "
            "VALUES ('kim@example.com', 'x', 'Kim', 'customer', :t, :t)",
            t=placed,
        )
        for name in ("셔츠", "의자"):
            await step.execute(
                "INSERT INTO products (name, price, description, stock_quantity, "
                "category, is_active, created_at, updated_at) "
                "VALUES (:name, 1000, '', 5, 'general', :active, :t, :t)",
                name=name,
                active=True,
                t=placed,
            )
        for status in ("pending", "paid", "cancelled", "delivered"):
            await step.execute(
                "INSERT INTO orders (user_id, total_amount, status, created_at, updated_at) "
                "VALUES (1, 3000, :status, :t, :t)",
                status=status,
                t=placed,
            )
        for order_id, product_id, quantity in ((1, 1, 1), (1, 2, 2), (2, 2, 3), (3, 1, 1)):
            await step.execute(
                "INSERT INTO order_lines (order_id, product_id, product_name, quantity, "
                "unit_price) VALUES (:order_id, :product_id, 'p', :quantity, 1000)",
                order_id=order_id,
                product_id=product_id,
                quantity=quantity,
            )
        await step.execute(
            "INSERT INTO payments (order_id, amount, status, provider_reference, card_last4, "
            "created_at) VALUES (2, 3000, 'captured', 'ref', '4242', :t)",
            t=placed,
        )
        await step.apply()
        reservations = await step.rows(
            "SELECT id, status, expires_at FROM stock_reservations ORDER BY id"
        )
        assert [(r[0], r[1]) for r in reservations] == [
            ("order-1", "reserved"),
            ("order-2", "sold"),
            ("order-3", "released"),
            ("order-4", "sold"),
        ]
        expires = reservations[0][2]
        expires = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
        assert expires == datetime(2026, 12, 1, 9, 30)
        assert await step.rows(
            "SELECT reservation_id, product_id, quantity, unit_price FROM "
            "stock_reservation_lines ORDER BY reservation_id, product_id"
        ) == [
            ("order-1", 1, 1, 1000),
            ("order-1", 2, 2, 1000),
            ("order-2", 2, 3, 1000),
            ("order-3", 1, 1, 1000),
        ]
        assert await step.rows("SELECT id, reservation_id FROM orders ORDER BY id") == [
            (1, "order-1"),
            (2, "order-2"),
            (3, "order-3"),
            (4, "order-4"),
        ]
        assert await step.rows("SELECT COUNT(*) FROM order_lines") == [(4,)]
        assert await step.rows("SELECT COUNT(*) FROM payments") == [(1,)]
        # no key to users any more: an order of a user this database does not hold
        await step.execute(
            "INSERT INTO orders (user_id, total_amount, status, created_at, updated_at) "
            "VALUES (99, 1000, 'pending', :t, :t)",
            t=placed,
        )
        await step.execute("DELETE FROM orders WHERE user_id = 99")
        with pytest.raises(DBAPIError):  # its other constraints stay (SQLite rebuilt the table)
            await step.execute(
                "INSERT INTO orders (user_id, total_amount, status, created_at, updated_at) "
                "VALUES (1, 1000, 'lost', :t, :t)",
                t=placed,
            )
