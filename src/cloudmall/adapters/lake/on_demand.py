"""The lake's adapters, loaded on first use: pyarrow and DuckDB take ~0.5 s to import, which a
process that never touches the lake (a function answering the API) should not pay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cloudmall.domain.events import Event
from cloudmall.services.ports import Compaction, EventLake, LakeQueries, ObjectStore, QueryResult


class LakeQueriesOnDemand:
    """DuckDbLakeQueries over `url`, built at the first query."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._queries: LakeQueries | None = None

    def _loaded(self) -> LakeQueries:
        if self._queries is None:
            from cloudmall.adapters.lake.duckdb_queries import DuckDbLakeQueries

            self._queries = DuckDbLakeQueries(self._url)
        return self._queries

    async def query(self, sql: str, parameters: Sequence[object] = ()) -> QueryResult:
        return await self._loaded().query(sql, parameters)

    async def query_many(
        self, statements: Sequence[str], parameters: Sequence[object] = ()
    ) -> list[QueryResult]:
        return await self._loaded().query_many(statements, parameters)


class EventLakeOnDemand:
    """ParquetEventLake on `store`, built at the first write or compaction."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lake: EventLake | None = None

    def _loaded(self) -> EventLake:
        if self._lake is None:
            from cloudmall.adapters.lake.parquet import ParquetEventLake

            self._lake = ParquetEventLake(self._store)
        return self._lake

    async def write(self, batch: str, events: Sequence[Event]) -> list[str]:
        return await self._loaded().write(batch, events)

    async def compact(self, day: date) -> Compaction:
        return await self._loaded().compact(day)
