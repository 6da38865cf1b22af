"""The lake's tables (services/lake_schema.py) as Arrow schemas."""

from __future__ import annotations

import re

import pyarrow as pa

from cloudmall.services.lake_schema import LakeTable

_SIMPLE = {
    "string": pa.string(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "double": pa.float64(),
}


def arrow_type(name: str) -> pa.DataType:
    if decimal := re.fullmatch(r"decimal\((\d+),(\d+)\)", name):
        return pa.decimal128(int(decimal[1]), int(decimal[2]))
    return _SIMPLE[name]


def file_schema(table: LakeTable) -> pa.Schema:
    """The columns a file of the table holds (partitions live in its key, not in the file)."""
    return pa.schema([(name, arrow_type(kind)) for name, kind in table.columns])


def partition_schema(table: LakeTable) -> pa.Schema:
    return pa.schema([(name, arrow_type(kind)) for name, kind in table.partitions])
