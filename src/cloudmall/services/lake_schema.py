"""The lake's tables as data: the Parquet writer, DuckDB and the Glue catalogue (infra/) all
read their columns from here, so the files and the tables that describe them cannot drift.

Types are the Glue/Hive names (Athena reads them as Trino types).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LakeTable:
    """One table: a key prefix in the lake, its columns in file order, and its partitions."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partitions: tuple[tuple[str, str], ...]

    @property
    def prefix(self) -> str:
        return self.name


EVENTS = LakeTable(
    name="events",
    columns=(
        ("event_id", "string"),
        ("event_version", "int"),
        ("occurred_at", "timestamp"),
        ("aggregate_type", "string"),
        ("aggregate_id", "string"),
        ("request_id", "string"),
        # The payload's common fields, typed, so both engines query them without JSON functions.
        ("order_id", "bigint"),
        ("user_id", "bigint"),
        ("product_id", "bigint"),
        ("amount", "decimal(12,2)"),
        ("delta", "int"),
        ("stock", "int"),
        ("reason", "string"),
        ("payload", "string"),  # the whole payload, JSON
        # Added later, so last (readers match columns by name; earlier files read it as null):
        # the trace of the work that recorded the event (services.trace_context).
        ("trace_id", "string"),
    ),
    partitions=(("type", "string"), ("dt", "string")),
)

#: The lines of `order.placed` events, one row each (a nested list would need engine-specific SQL).
ORDER_LINES = LakeTable(
    name="order_lines",
    columns=(
        ("event_id", "string"),
        ("occurred_at", "timestamp"),
        ("order_id", "bigint"),
        ("product_id", "bigint"),
        ("product_name", "string"),
        ("quantity", "int"),
        ("unit_price", "decimal(12,2)"),
    ),
    partitions=(("dt", "string"),),
)

TABLES: Mapping[str, LakeTable] = {table.name: table for table in (EVENTS, ORDER_LINES)}

#: The first day partition projection knows (the lake holds no older events).
FIRST_DAY = "2026-01-01"
