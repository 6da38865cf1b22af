"""The schema's revision, read without Alembic: the readiness check runs at every function's
cold start, where importing Alembic (and Mako) would cost ~0.35 s of CPU.

There are five histories: the monolith's (`migrations/versions/`, revisions `0001`, `0002`, …,
one database holding every table) and one per bounded context for the services topology
(`migrations/contexts/<context>/`, revisions `<context>_0001`, …, its database holding its own
tables). Revision ids are the migration files' name prefixes, numbered along each linear
history, so a history's newest is its largest. tests/integration/test_migrations.py and
test_context_migrations.py check this against Alembic's own view of the scripts.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"


def versions_dir(context: str | None = None) -> Path:
    """The folder of a history's scripts: the monolith's (None) or a context's."""
    return VERSIONS if context is None else MIGRATIONS / "contexts" / context


def _revision_pattern(context: str | None) -> re.Pattern[str]:
    return re.compile(r"[0-9]{4}" if context is None else rf"{re.escape(context)}_[0-9]{{4}}")


@functools.cache
def known_revisions(context: str | None = None) -> frozenset[str]:
    """Every revision this code knows of the history (the monolith's, or a context's)."""
    pattern = _revision_pattern(context)
    return frozenset(
        match.group(0)
        for script in versions_dir(context).glob("*.py")
        if (match := pattern.match(script.name))
    )


def head_revision(context: str | None = None) -> str | None:
    return max(known_revisions(context), default=None)


class ForeignSchema(RuntimeError):
    """The database was migrated by another history (another context's, or the monolith's)."""


def schema_is_ahead(current: str | None, context: str | None = None) -> bool:
    """The database is at a revision of this history that this code does not know: a newer
    release migrated it. A revision of another history raises ForeignSchema.

    Migrations are expand/contract (docs/deploy-aws.md), so the previous release keeps running
    on the newer schema: during a rolling deploy, and after a rollback of the code.
    """
    if current is None or current in known_revisions(context):
        return False
    if not _revision_pattern(context).fullmatch(current):
        owner = "the monolith's" if context is None else f"the {context} service's"
        raise ForeignSchema(
            f"the database is at revision {current}, not of {owner} history: "
            "is CLOUDMALL_DATABASE_URL another service's database?"
        )
    return True


def _stamped(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is stamped with; None for a database never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_stamped)
