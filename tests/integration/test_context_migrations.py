"""Each bounded context's own Alembic history: its database holds its tables alone, exactly as
tables.py describes them, and a service never migrates another's database."""

from __future__ import annotations

import anyio
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from cloudmall.adapters.db.contexts import CONTEXTS, context_metadata, context_tables
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import alembic_config, upgrade
from cloudmall.adapters.db.schema_version import (
    VERSION_TABLE,
    ForeignSchema,
    current_revision,
    head_revision,
    known_revisions,
)
from cloudmall.adapters.db.tables import metadata
from tests.integration.migration_step import revisions_oldest_first

pytestmark = pytest.mark.anyio


def test_every_table_belongs_to_a_context() -> None:
    """A new table must say whose it is, or no service's database would have it."""
    owned = {name for context in CONTEXTS for name in context_tables(context)}
    assert owned == set(metadata.tables)


def test_no_foreign_key_crosses_a_context() -> None:
    for context in CONTEXTS:
        own = set(context_tables(context))
        for name in own:
            for key in metadata.tables[name].foreign_keys:
                assert key.column.table.name in own, (context, name, key.target_fullname)


@pytest.mark.parametrize("context", CONTEXTS)
def test_each_history_is_alembics_view_of_its_scripts(context: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://", context=context))
    assert known_revisions(context) == {script.revision for script in scripts.walk_revisions()}
    assert head_revision(context) == scripts.get_current_head()
    assert known_revisions(context).isdisjoint(known_revisions())


@pytest.mark.parametrize("context", CONTEXTS)
async def test_a_context_database_holds_its_tables_as_described(
    database_url: str, context: str
) -> None:
    await upgrade(database_url, context=context)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            differences = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync), context_metadata(context)
                )
            )
        assert names == {*context_tables(context), VERSION_TABLE}
        assert differences == []
        assert await current_revision(engine) == head_revision(context)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("context", CONTEXTS)
async def test_every_context_migration_goes_down_and_up_again(
    database_url: str, context: str
) -> None:
    for revision, before in revisions_oldest_first(database_url, context):
        config = alembic_config(database_url, context=context)
        await anyio.to_thread.run_sync(command.upgrade, config, revision)
        await anyio.to_thread.run_sync(command.downgrade, config, before or "base")
        await anyio.to_thread.run_sync(command.upgrade, config, revision)
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision(context)
    finally:
        await engine.dispose()


async def test_a_service_does_not_migrate_another_history(database_url: str) -> None:
    """Pointed at the monolith's database (or another service's), a service's migrate stops
    with the reason instead of taking the database for a newer release's."""
    await upgrade(database_url)
    with pytest.raises(ForeignSchema, match="not of the products service's history"):
        await upgrade(database_url, context="products")
    with pytest.raises(ForeignSchema, match="not of the orders service's history"):
        await upgrade(database_url, context="orders")


async def test_the_monolith_does_not_migrate_a_service_database(database_url: str) -> None:
    await upgrade(database_url, context="payments")
    with pytest.raises(ForeignSchema, match="not of the monolith's history"):
        await upgrade(database_url)
