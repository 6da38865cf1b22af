"""The inbox of handled events over one AsyncConnection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import inbox_events, utcnow


def _insert_if_new(dialect: str) -> Any:
    """An INSERT that does nothing for a (consumer, event id) the table has: one statement, no
    savepoint, and no error that would abort a PostgreSQL transaction."""
    if dialect == "postgresql":
        return postgresql.insert(inbox_events).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(inbox_events).on_conflict_do_nothing()
    # MySQL/MariaDB: IGNORE turns the duplicate key into a warning (the other columns are
    # always valid values, so nothing else is ignored).
    return mysql.insert(inbox_events).prefix_with("IGNORE")


class SqlInbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def first_time(self, consumer: str, event_id: str) -> bool:
        statement = _insert_if_new(self._conn.dialect.name)
        values = {"consumer": consumer, "event_id": event_id, "handled_at": utcnow()}
        result = await self._conn.execute(statement, values)
        return result.rowcount == 1
