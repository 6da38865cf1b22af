"""The table as backup and restore see it (the `BackupDatabase` port): the SQL schema's rows.

- A backup reads the whole table with one consistent Scan (not a request path) and gives the
  rows `rows.py` finds in its items, typed by the SQL columns, in primary-key order. A Scan is
  not a point-in-time snapshot: writes during it may be seen in part (an order without its
  payment). Back up a quiet shop, or a table restored from point-in-time recovery.
- A restore keeps the backup's rows until the loader's block ends, then writes their items with
  BatchWriteItem (DynamoDB has no transaction of a whole restore: a restore that fails half-way
  leaves a partial table, which `--force` replaces). The id counters are then moved to the
  highest restored ids.
- The table has no schema revisions: it holds the newest schema's rows (the migrations' head),
  and takes backups of that revision only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy.types import Boolean, DateTime, Integer, Numeric, TypeDecorator, TypeEngine

from cloudmall.adapters.db.schema_version import head_revision
from cloudmall.adapters.db.snapshot import known_revision, table_specs
from cloudmall.adapters.db.tables import metadata
from cloudmall.adapters.dynamodb.client import DynamoClient, error_code
from cloudmall.adapters.dynamodb.rows import COUNTERS, Row, items_of, rows_of
from cloudmall.adapters.dynamodb.table import create_table, from_item, key_of, to_item
from cloudmall.services.ports import DatabaseUnavailable, TableSpec

#: BatchWriteItem's limit.
BATCH = 25


def _base(kind: TypeEngine[Any]) -> TypeEngine[Any]:
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind


def _reader(kind: TypeEngine[Any]) -> Callable[[Any], Any]:
    """An item's value (numbers as Decimal, times as text) as the column's Python value."""
    base = _base(kind)
    if isinstance(base, Boolean):
        return bool
    if isinstance(base, Integer):
        return int
    if isinstance(base, Numeric):
        return Decimal
    if isinstance(base, DateTime):
        return lambda value: (
            value if isinstance(value, datetime) else datetime.fromisoformat(value)
        ).astimezone(UTC)
    return str


def _writer(kind: TypeEngine[Any]) -> Callable[[Any], Any]:
    """A value in the backup's portable encoding as the column's Python value."""
    base = _base(kind)
    if isinstance(base, Numeric):
        return lambda value: Decimal(str(value))
    if isinstance(base, DateTime):
        return lambda value: datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return _reader(kind)


def _convert(
    spec: TableSpec, convert: Callable[[TypeEngine[Any]], Callable[[Any], Any]]
) -> list[Callable[[Any], Any]]:
    columns = metadata.tables[spec.name].c
    return [convert(columns[name].type) for name in spec.columns]


def _typed_rows(spec: TableSpec, rows: Sequence[Row]) -> list[tuple[object, ...]]:
    """Rows as tuples of the columns' Python values, in primary-key order."""
    readers = _convert(spec, _reader)
    typed = [
        tuple(
            None if (value := row[name]) is None else read(value)
            for name, read in zip(spec.columns, readers, strict=True)
        )
        for row in rows
    ]
    key = spec.columns.index(spec.primary_key)
    return sorted(typed, key=lambda row: row[key])  # type: ignore[return-value, arg-type]


class DynamoSnapshot:
    """The rows of one Scan of the table."""

    def __init__(self, rows: dict[str, list[Row]], revision: str | None) -> None:
        self._rows = rows
        self.revision = revision

    async def count(self, table: TableSpec) -> int:
        return len(self._rows.get(table.name, ()))

    async def batches(self, table: TableSpec, size: int) -> AsyncIterator[list[tuple[object, ...]]]:
        typed = _typed_rows(table, self._rows.get(table.name, ()))
        for start in range(0, len(typed), size):
            yield typed[start : start + size]

    async def media_keys(self) -> set[str]:
        return {row["image_key"] for row in self._rows.get("products", ()) if row["image_key"]}


class DynamoTableLoader:
    """Keeps the rows, typed, until the restore's block ends (an order's lines come after it)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {}

    async def insert(self, table: TableSpec, rows: Sequence[Sequence[object]]) -> None:
        if table.name not in metadata.tables:
            raise ValueError(f"the backup has a table {table.name!r} the shop does not have")
        writers = _convert(table, _writer)
        kept = self.rows.setdefault(table.name, [])
        for row in rows:
            if len(row) != len(table.columns):
                raise ValueError(f"a {table.name} row does not have the table's columns")
            kept.append(
                {
                    name: None if value is None else write(value)
                    for name, write, value in zip(table.columns, writers, row, strict=True)
                }
            )


class DynamoBackupDatabase:
    """`BackupDatabase` over one DynamoDB table."""

    backend = "dynamodb"

    def __init__(self, client: DynamoClient) -> None:
        self.client = client

    def tables(self) -> tuple[TableSpec, ...]:
        return table_specs()

    def code_revision(self) -> str | None:
        return head_revision()

    def knows_revision(self, revision: str) -> bool:
        return known_revision(revision)

    async def _exists(self) -> bool:
        try:
            await self.client.call("describe_table", TableName=self.client.table)
        except DatabaseUnavailable as exc:  # (the client's word for a missing table too)
            cause = exc.__cause__
            if isinstance(cause, ClientError) and error_code(cause) == "ResourceNotFoundException":
                return False
            raise
        return True

    async def current_revision(self) -> str | None:
        return head_revision() if await self._exists() else None

    async def _items(self) -> list[dict[str, Any]]:
        """Every item: a consistent Scan, page by page (backup only, never a request)."""
        request: dict[str, Any] = {"TableName": self.client.table, "ConsistentRead": True}
        items: list[dict[str, Any]] = []
        while True:
            answer = await self.client.call("scan", **request)
            items.extend(from_item(raw) for raw in answer["Items"])
            if "LastEvaluatedKey" not in answer:
                return items
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    async def row_counts(self) -> dict[str, int]:
        if not await self._exists():
            return {}
        rows = rows_of(await self._items())
        return {spec.name: len(rows.get(spec.name, ())) for spec in self.tables()}

    async def migrate(self, revision: str) -> None:
        if revision != head_revision():
            raise ValueError(
                f"a DynamoDB table holds the newest schema ({head_revision()}) only, not "
                f"{revision}: restore the backup into SQL, `cloudmall migrate` it, back it up again"
            )
        await create_table(self.client)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[DynamoSnapshot]:
        if not await self._exists():
            yield DynamoSnapshot({}, None)
            return
        yield DynamoSnapshot(rows_of(await self._items()), head_revision())

    @contextlib.asynccontextmanager
    async def loader(self, *, replace: bool) -> AsyncIterator[DynamoTableLoader]:
        loader = DynamoTableLoader()
        yield loader
        if replace:
            await self._write([], [key_of((i["PK"], i["SK"])) for i in await self._items()])
        await self._write([to_item(item) for item in items_of(loader.rows)], [])

    async def _write(self, puts: list[dict[str, Any]], deletes: list[dict[str, Any]]) -> None:
        """BatchWriteItem, 25 at a time, sending again what DynamoDB left unprocessed."""
        requests = [{"DeleteRequest": {"Key": key}} for key in deletes]
        requests += [{"PutRequest": {"Item": item}} for item in puts]
        for start in range(0, len(requests), BATCH):
            pending = {self.client.table: requests[start : start + BATCH]}
            attempt = 0
            while pending:
                answer = await self.client.call("batch_write_item", RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                attempt += 1
                if pending:
                    await asyncio.sleep(min(0.05 * 2**attempt, 2.0))

    async def reset_identities(self) -> None:
        """Each id counter to the highest id its table holds (the next id follows it)."""
        rows = rows_of(await self._items())
        for table, kind in COUNTERS.items():
            if rows.get(table):
                highest = max(int(row["id"]) for row in rows[table])
                await self.client.call(
                    "put_item",
                    TableName=self.client.table,
                    Item=to_item({"PK": "COUNTER", "SK": kind, "value": highest}),
                )


@contextlib.asynccontextmanager
async def dynamo_backup_database(client: DynamoClient) -> AsyncIterator[DynamoBackupDatabase]:
    """The table's `BackupDatabase`, its client closed afterwards."""
    try:
        yield DynamoBackupDatabase(client)
    finally:
        await client.aclose()
