"""One migration applied to a database that already holds rows, the way a real shop meets it."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import anyio
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import alembic_config


def revisions_oldest_first(
    database_url: str, context: str | None = None
) -> list[tuple[str, str | None]]:
    """Every revision of the history (the monolith's, or a context's) with the one before it,
    oldest first."""
    script = ScriptDirectory.from_config(alembic_config(database_url, context=context))
    steps = [
        (migration.revision, migration.down_revision)
        for migration in script.walk_revisions("base", "heads")
    ]
    for _, down in steps:
        assert down is None or isinstance(down, str), "the history has no merges"
    return [(revision, down) for revision, down in reversed(steps)]  # type: ignore[misc]


class MigrationStep:
    """`async with MigrationStep(url, "0007") as step:` — the database at the revision before
    0007; `execute` puts rows there, `apply()` runs 0007, `rows` reads what it made. On leaving,
    the step goes down to where it started and up to head again (both directions stay working)."""

    def __init__(self, database_url: str, revision: str) -> None:
        self.config = alembic_config(database_url)
        migration = ScriptDirectory.from_config(self.config).get_revision(revision)
        assert migration is not None and isinstance(migration.down_revision, str)
        self.revision = revision
        self.before = migration.down_revision
        self.engine: AsyncEngine = create_engine(database_url)

    async def __aenter__(self) -> MigrationStep:
        await self._migrate(command.upgrade, self.before)
        return self

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)

    async def apply(self) -> None:
        await self._migrate(command.upgrade, self.revision)

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                await self._migrate(command.downgrade, self.before)
                await self._migrate(command.upgrade, "head")
        finally:
            await self.engine.dispose()

    async def _migrate(self, direction: Any, revision: str) -> None:
        await anyio.to_thread.run_sync(direction, self.config, revision)
