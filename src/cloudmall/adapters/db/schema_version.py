"""The schema's revision, read without Alembic: the readiness check runs at every function's
cold start, where importing Alembic (and Mako) would cost ~0.35 s of CPU.

Revision ids are the migration files' name prefixes (`0007_categories_….py` is revision 0007),
numbered along one linear history, so the newest is the largest.
tests/integration/test_migrations.py checks both against Alembic's own view of the scripts.
"""

from __future__ import annotations

import functools
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"
VERSION_TABLE = "alembic_version"


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations know."""
    return frozenset(script.name.split("_", 1)[0] for script in VERSIONS.glob("[0-9]*_*.py"))


def head_revision() -> str | None:
    return max(known_revisions(), default=None)


def schema_is_ahead(current: str | None) -> bool:
    """The database is at a revision this code does not know: a newer release migrated it.

    Migrations are expand/contract (docs/deploy-aws.md), so the previous release keeps running
    on the newer schema: during a rolling deploy, and after a rollback of the code.
    """
    return current is not None and current not in known_revisions()


def _stamped(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is stamped with; None for a database never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_stamped)
