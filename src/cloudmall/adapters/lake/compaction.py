"""Compaction: a day's small files, one per export batch, merged into one file per partition.

The merged file is named after the parts it replaces and written before they are deleted; rows
are kept once by their identity (an event's id; an order line's event id and product), so a run
stopped between the write and the deletes, or a batch exported again, merges back to each row
once next time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cloudmall.domain.events import EVENT_TYPES
from cloudmall.services.lake_schema import EVENTS, ORDER_LINES, LakeTable
from cloudmall.services.ports import Compaction, ObjectStore

#: Stores a file of the table's rows at the key.
Save = Callable[[str, list[dict[str, Any]], LakeTable], Awaitable[None]]


def day_partitions(day: date) -> list[tuple[str, LakeTable]]:
    """The day's partition folders of both tables."""
    dt = day.isoformat()
    folders = [(f"{EVENTS.prefix}/type={kind}/dt={dt}", EVENTS) for kind in sorted(EVENT_TYPES)]
    return [*folders, (f"{ORDER_LINES.prefix}/dt={dt}", ORDER_LINES)]


def _identity(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["event_id"], row.get("product_id"))


def merged_rows(tables: Sequence[pa.Table]) -> list[dict[str, Any]]:
    """The tables' rows, each identity once, in time order (so equal parts give equal bytes)."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for table in tables:
        for row in table.to_pylist():
            rows.setdefault(_identity(row), row)
    return sorted(rows.values(), key=lambda row: (row["occurred_at"], *_identity(row)))


def merged_name(folder: str, parts: Sequence[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]
    return f"{folder}/part-compacted-{digest}.parquet"


async def compact_day(store: ObjectStore, day: date, save: Save) -> Compaction:
    """Merge every partition of `day` that has more than one file."""
    partitions = parts_merged = rows_kept = 0
    for folder, table in day_partitions(day):
        parts = sorted(key for key in await store.keys(f"{folder}/") if key.endswith(".parquet"))
        if len(parts) < 2:
            continue
        tables = []
        for key in parts:
            found = await store.get(key)
            if found is not None:  # gone: another compaction merged it into a file of its own
                tables.append(pq.read_table(pa.BufferReader(found.data)))
        rows = merged_rows(tables)
        await save(merged_name(folder, parts), rows, table)
        for key in parts:
            await store.delete(key)
        partitions += 1
        parts_merged += len(parts)
        rows_kept += len(rows)
    return Compaction(partitions, parts_merged, rows_kept)
