"""SQL over the lake's Parquet files with DuckDB.

A local folder is read by DuckDB's own (built-in) Parquet reader, the fastest path; S3 through
pyarrow's S3 filesystem as Arrow datasets, so no DuckDB extension (httpfs) is ever downloaded.
Either way a statement can read the lake's files and nothing else on the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from cloudmall.adapters.lake.arrow_schema import file_schema, partition_schema
from cloudmall.services.lake_schema import TABLES, LakeTable
from cloudmall.services.ports import LakeQueryError, QueryResult


def lake_filesystem(url: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and root path of a lake URL: file:///path or s3://bucket[/prefix]?region=…
    &endpoint_url=… (the object store's URL form)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return pafs.LocalFileSystem(), parts.path.rstrip("/")
    if parts.scheme == "s3":
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        endpoint = urlsplit(query.get("endpoint_url", ""))
        filesystem = pafs.S3FileSystem(
            region=query.get("region"),
            endpoint_override=endpoint.netloc or None,
            scheme=endpoint.scheme or "https",
            connect_timeout=3,
            request_timeout=15,
        )
        return filesystem, f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
    raise ValueError(f"unsupported lake URL scheme {parts.scheme!r}: use file:// or s3://")


def _parquet_files(filesystem: pafs.FileSystem, base: str) -> list[str]:
    """The Parquet files under `base` (a local folder store keeps a metadata file beside each)."""
    return sorted(
        info.path
        for info in filesystem.get_file_info(
            pafs.FileSelector(base, allow_not_found=True, recursive=True)
        )
        if info.type is pafs.FileType.File and info.path.endswith(".parquet")
    )


def _empty(table: LakeTable) -> pa.Table:
    return pa.unify_schemas([file_schema(table), partition_schema(table)]).empty_table()


def _dataset(filesystem: pafs.FileSystem, root: str, table: LakeTable) -> ds.Dataset | pa.Table:
    """The table's files as one dataset (an empty table if the lake has none yet)."""
    schema = pa.unify_schemas([file_schema(table), partition_schema(table)])
    base = f"{root}/{table.prefix}"
    files = _parquet_files(filesystem, base)
    if not files:
        return schema.empty_table()
    return ds.dataset(
        sorted(files),
        filesystem=filesystem,
        format="parquet",
        schema=schema,
        partitioning=ds.partitioning(partition_schema(table), flavor="hive"),
        partition_base_dir=base,
    )


class DuckDbLakeQueries:
    """LakeQueries over a lake URL; each query sees the files as they are when it starts."""

    def __init__(self, url: str) -> None:
        self._filesystem, self._root = lake_filesystem(url)

    def _local_tables(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Views over the folder's files for DuckDB's reader; only the folder stays readable."""
        root = self._root.replace("'", "''")
        connection.execute(f"SET allowed_directories = ['{root}/']")
        connection.execute("SET enable_external_access = false")
        for table in TABLES.values():
            if not _parquet_files(self._filesystem, f"{self._root}/{table.prefix}"):
                connection.register(table.name, _empty(table))
                continue
            stars = "/".join("*" for _ in table.partitions)
            types = ", ".join(f"'{name}': VARCHAR" for name, _ in table.partitions)
            connection.execute(
                f"CREATE VIEW {table.name} AS SELECT * FROM read_parquet("  # noqa: S608 (our names)
                f"'{root}/{table.prefix}/{stars}/*.parquet', "
                # By name: a file written before a column was added reads it as null.
                f"hive_partitioning = true, hive_types = {{{types}}}, union_by_name = true)"
            )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect(":memory:")
        # Footers read once per connection, however many statements read the file.
        connection.execute("SET parquet_metadata_cache = true")
        if isinstance(self._filesystem, pafs.LocalFileSystem):
            self._local_tables(connection)
        else:
            for table in TABLES.values():
                connection.register(table.name, _dataset(self._filesystem, self._root, table))
            # The statement sees the lake's tables and nothing else of this machine's files.
            connection.execute("SET enable_external_access = false")
        return connection

    def _run(self, statements: Sequence[str], parameters: Sequence[object]) -> list[QueryResult]:
        connection = self._connect()
        try:
            return [_execute(connection, sql, parameters) for sql in statements]
        finally:
            connection.close()

    async def query(self, sql: str, parameters: Sequence[object] = ()) -> QueryResult:
        (result,) = await asyncio.to_thread(self._run, [sql], parameters)
        return result

    async def query_many(
        self, statements: Sequence[str], parameters: Sequence[object] = ()
    ) -> list[QueryResult]:
        return await asyncio.to_thread(self._run, statements, parameters)


def _execute(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object]
) -> QueryResult:
    try:
        cursor = connection.execute(sql, list(parameters))
        columns = tuple(column[0] for column in cursor.description or ())
        return QueryResult(columns, cursor.fetchall() if columns else [])
    except duckdb.Error as exc:
        raise LakeQueryError(str(exc).splitlines()[0]) from exc
