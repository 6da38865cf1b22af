"""The database side of backup and restore (the `BackupDatabase` port) on every backend.

Snapshots are consistent while the shop keeps writing, and never copy a live file:

- PostgreSQL: a `REPEATABLE READ, READ ONLY` transaction (one MVCC snapshot for all reads).
- MySQL/MariaDB: `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` at REPEATABLE READ.
- SQLite: a read transaction (`BEGIN`, then reads); in WAL mode readers see one snapshot while
  writers go on.

Rows are read in primary-key order by keyset pagination (`WHERE id > :last ORDER BY id LIMIT n`)
inside that one transaction, so no server-side cursor is held open and memory stays flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Table, column, func, inspect, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import (
    Boolean,
    DateTime,
    Float,
    NullType,
    Numeric,
    TypeDecorator,
    TypeEngine,
)

from cloudmall.adapters.db.engine import WRITE_OPTION, create_engine
from cloudmall.adapters.db.migrations import alembic_config
from cloudmall.adapters.db.schema_version import head_revision
from cloudmall.adapters.db.tables import metadata, products
from cloudmall.services.ports import TableSpec


def _backend(engine: AsyncEngine) -> str:
    dialect = engine.dialect
    if dialect.name in ("mysql", "mariadb"):
        return "mariadb" if getattr(dialect, "is_mariadb", False) else "mysql"
    return str(dialect.name)


def _is_mysql(conn: AsyncConnection | AsyncEngine) -> bool:
    return conn.dialect.name in ("mysql", "mariadb")


def _spec(source: Table) -> TableSpec:
    keys = [c.name for c in source.primary_key.columns]
    if len(keys) != 1:
        raise ValueError(f"table {source.name} needs a single-column primary key to be backed up")
    return TableSpec(
        name=source.name, columns=tuple(c.name for c in source.columns), primary_key=keys[0]
    )


def _typed(spec: TableSpec) -> TableClause:
    """A lightweight table for `spec`, typed from the schema where the schema has the column
    (so booleans come back as bool on MySQL and datetimes as UTC everywhere)."""
    known = metadata.tables.get(spec.name)
    columns = []
    for name in spec.columns:
        kind: TypeEngine[Any] = (
            known.c[name].type if known is not None and name in known.c else NullType()
        )
        columns.append(column(name, kind))
    return table(spec.name, *columns)


def _decoder(kind: TypeEngine[Any]) -> Callable[[Any], Any]:
    """From the portable encoding back to the Python value the column's type binds."""
    base = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
    if isinstance(base, Float):
        return lambda value: None if value is None else float(value)
    if isinstance(base, Numeric):
        return lambda value: None if value is None else Decimal(str(value))
    if isinstance(base, DateTime):

        def to_datetime(value: Any) -> Any:
            if value is None:
                return None
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                return moment
            return moment.astimezone(UTC).replace(tzinfo=None)

        return to_datetime
    if isinstance(base, Boolean):
        return lambda value: None if value is None else bool(value)
    return lambda value: value


def table_specs() -> tuple[TableSpec, ...]:
    """The shop's tables as a backup has them (every backend's), parents before children."""
    return tuple(_spec(t) for t in metadata.sorted_tables)


def known_revision(revision: str) -> bool:
    """False for a schema revision this code has never heard of (made by a newer version)."""
    scripts = ScriptDirectory.from_config(alembic_config(""))
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


class SqlSnapshot:
    def __init__(self, conn: AsyncConnection, revision: str | None) -> None:
        self._conn = conn
        self.revision = revision

    async def count(self, table: TableSpec) -> int:
        result = await self._conn.execute(select(func.count()).select_from(_typed(table)))
        return int(result.scalar_one())

    async def batches(self, table: TableSpec, size: int) -> AsyncIterator[list[tuple[object, ...]]]:
        source = _typed(table)
        key = source.c[table.primary_key]
        position = table.columns.index(table.primary_key)
        last: object = None
        while True:
            query = select(*source.c).order_by(key).limit(size)
            if last is not None:
                query = query.where(key > last)
            rows = [tuple(row) for row in await self._conn.execute(query)]
            if not rows:
                return
            yield rows
            if len(rows) < size:
                return
            last = rows[-1][position]

    async def media_keys(self) -> set[str]:
        rows = await self._conn.execute(
            select(products.c.image_key).where(products.c.image_key.is_not(None)).distinct()
        )
        return {str(row.image_key) for row in rows}


class SqlTableLoader:
    def __init__(self, conn: AsyncConnection, existing: set[str]) -> None:
        self._conn = conn
        self._existing = existing

    async def insert(self, table: TableSpec, rows: Sequence[Sequence[object]]) -> None:
        if table.name not in self._existing:
            raise ValueError(f"the backup has a table {table.name!r} the database does not have")
        if not rows:
            return
        target = _typed(table)
        decoders = [_decoder(target.c[name].type) for name in table.columns]
        values = []
        for row in rows:
            if len(row) != len(table.columns):
                raise ValueError(f"a {table.name} row does not have the table's columns")
            values.append(
                {
                    name: decode(value)
                    for name, decode, value in zip(table.columns, decoders, row, strict=True)
                }
            )
        await self._conn.execute(target.insert(), values)


class SqlBackupDatabase:
    """`BackupDatabase` over one SQLAlchemy engine (and its URL, for Alembic)."""

    def __init__(self, engine: AsyncEngine, database_url: str) -> None:
        self.engine = engine
        self.database_url = database_url

    @property
    def backend(self) -> str:
        return _backend(self.engine)

    def tables(self) -> tuple[TableSpec, ...]:
        return table_specs()

    def code_revision(self) -> str | None:
        return head_revision()

    def knows_revision(self, revision: str) -> bool:
        return known_revision(revision)

    async def _existing(self, conn: AsyncConnection) -> set[str]:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        return set(names)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            if "alembic_version" not in await self._existing(conn):
                return None
            return await self._revision(conn)

    @staticmethod
    async def _revision(conn: AsyncConnection) -> str | None:
        result = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return result.scalar_one_or_none()

    async def row_counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            existing = await self._existing(conn)
            counts = {}
            for source in metadata.sorted_tables:
                if source.name in existing:
                    found = await conn.execute(select(func.count()).select_from(source))
                    counts[source.name] = int(found.scalar_one())
            return counts

    async def migrate(self, revision: str) -> None:
        await asyncio.to_thread(command.upgrade, alembic_config(self.database_url), revision)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SqlSnapshot]:
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
                await conn.begin()
                # The shop's 15 s statement cap is for requests, not for a long dump.
                await conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            elif _is_mysql(conn):
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
                await conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            else:
                await conn.begin()  # a deferred BEGIN: the first read fixes the WAL snapshot
            try:
                revision = None
                if "alembic_version" in await self._existing(conn):
                    revision = await self._revision(conn)
                yield SqlSnapshot(conn, revision)
            finally:
                await conn.rollback()

    @contextlib.asynccontextmanager
    async def loader(self, *, replace: bool) -> AsyncIterator[SqlTableLoader]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE_OPTION: True})
            await conn.begin()
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            existing = await self._existing(conn)
            try:
                if replace:
                    for source in reversed(metadata.sorted_tables):
                        if source.name in existing:
                            await conn.execute(source.delete())
                yield SqlTableLoader(conn, existing)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def reset_identities(self) -> None:
        async with self.engine.connect() as conn:
            existing = await self._existing(conn)
            for spec in self.tables():
                if spec.name not in existing or not _numbered(spec):
                    continue
                name, key = spec.name, spec.primary_key
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence(:table, :key), "  # noqa: S608
                            f"COALESCE(MAX({key}), 1), MAX({key}) IS NOT NULL) FROM {name}"
                        ),
                        {"table": name, "key": key},
                    )
                elif _is_mysql(conn):
                    found = await conn.execute(text(f"SELECT COALESCE(MAX({key}), 0) FROM {name}"))  # noqa: S608
                    following = int(found.scalar_one()) + 1
                    await conn.exec_driver_sql(f"ALTER TABLE {name} AUTO_INCREMENT = {following}")
                # SQLite: an INTEGER PRIMARY KEY (no AUTOINCREMENT) takes max(rowid) + 1 itself.
            await conn.commit()


def _numbered(spec: TableSpec) -> bool:
    """The table's key is a number the database hands out (a sequence or AUTO_INCREMENT), not a
    value the rows bring (an event id)."""
    return metadata.tables[spec.name].c[spec.primary_key].type.python_type is int


def backup_database(database_url: str) -> SqlBackupDatabase:
    return SqlBackupDatabase(create_engine(database_url, pool_size=2), database_url)


@contextlib.asynccontextmanager
async def scratch_sqlite() -> AsyncIterator[SqlBackupDatabase]:
    """A new SQLite database in a temporary folder, for trial restores; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="cloudmall-verify-") as folder:
        url = f"sqlite:///{(Path(folder) / 'scratch.db').as_posix()}"
        database = backup_database(url)
        try:
            yield database
        finally:
            await database.engine.dispose()
