"""Events as Parquet files on the object store: `events/type=…/dt=YYYY-MM-DD/part-<batch>.parquet`
and `order_lines/dt=…/part-<batch>.parquet`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cloudmall.adapters.lake.arrow_schema import file_schema
from cloudmall.adapters.lake.compaction import compact_day
from cloudmall.domain.events import ORDER_PLACED, Event
from cloudmall.services.lake_schema import EVENTS, ORDER_LINES, LakeTable
from cloudmall.services.ports import Compaction, ObjectStore
from cloudmall.services.trace_context import trace_id

PARQUET = "application/vnd.apache.parquet"
_EVENTS_SCHEMA = file_schema(EVENTS)
_LINES_SCHEMA = file_schema(ORDER_LINES)
_SCHEMAS = {EVENTS.name: _EVENTS_SCHEMA, ORDER_LINES.name: _LINES_SCHEMA}


def _day(event: Event) -> str:
    return event.occurred_at.date().isoformat()  # occurred_at is UTC


def _money(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def event_row(event: Event) -> dict[str, Any]:
    payload = event.payload
    return {
        "event_id": event.id,
        "event_version": event.version,
        "occurred_at": event.occurred_at,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "request_id": event.request_id,
        "order_id": payload.get("order_id"),
        "user_id": payload.get("user_id"),
        "product_id": payload.get("product_id"),
        "amount": _money(payload.get("amount") or payload.get("price")),
        "delta": payload.get("delta"),
        "stock": payload.get("stock"),
        "reason": payload.get("reason"),
        "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True),
        "trace_id": trace_id(event.traceparent),
    }


def line_rows(event: Event) -> list[dict[str, Any]]:
    return [
        {
            "event_id": event.id,
            "occurred_at": event.occurred_at,
            "order_id": event.payload["order_id"],
            "product_id": line["product_id"],
            "product_name": line["product_name"],
            "quantity": line["quantity"],
            "unit_price": _money(line["unit_price"]),
        }
        for line in event.payload["lines"]
    ]


def parquet_bytes(rows: list[dict[str, Any]], schema: pa.Schema) -> bytes:
    """The rows as one Parquet file (zstd); equal rows give equal bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def batch_files(batch: str, events: Sequence[Event]) -> dict[str, bytes]:
    """The batch's files by key: one per event type and day, one of order lines per day."""
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        day = _day(event)
        by_partition[f"{EVENTS.prefix}/type={event.type}/dt={day}"].append(event_row(event))
        if event.type == ORDER_PLACED.name:
            lines[f"{ORDER_LINES.prefix}/dt={day}"].extend(line_rows(event))
    name = f"part-{batch}.parquet"
    files = {
        f"{folder}/{name}": parquet_bytes(rows, _EVENTS_SCHEMA)
        for folder, rows in by_partition.items()
    }
    files.update(
        {f"{folder}/{name}": parquet_bytes(rows, _LINES_SCHEMA) for folder, rows in lines.items()}
    )
    return files


class ParquetEventLake:
    """The EventLake on any ObjectStore (a local folder, an S3 bucket and prefix)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def write(self, batch: str, events: Sequence[Event]) -> list[str]:
        files = batch_files(batch, events)
        for key, data in files.items():
            await self._store.put(key, data, content_type=PARQUET, cache_control="no-store")
        return list(files)

    async def compact(self, day: date) -> Compaction:
        return await compact_day(self._store, day, self._save)

    async def _save(self, key: str, rows: list[dict[str, Any]], table: LakeTable) -> None:
        data = parquet_bytes(rows, _SCHEMAS[table.name])
        await self._store.put(key, data, content_type=PARQUET, cache_control="no-store")
