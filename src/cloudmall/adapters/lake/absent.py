"""The lake where a runtime carries no lake engine (a Lambda function: pyarrow and DuckDB are
left out of its package, and Athena queries the lake on AWS)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cloudmall.domain.events import Event
from cloudmall.services.ports import Compaction, LakeQueryError, QueryResult

WHY = (
    "this runtime has no lake engine: query the lake with Athena or `cloudmall lake` (docs/lake.md)"
)


class NoLakeEngine:
    """LakeQueries and EventLake that refuse with LakeQueryError (the overview then shows no
    lake headline; nothing else reads the lake on a request)."""

    async def query(self, sql: str, parameters: Sequence[object] = ()) -> QueryResult:
        raise LakeQueryError(WHY)

    async def query_many(
        self, statements: Sequence[str], parameters: Sequence[object] = ()
    ) -> list[QueryResult]:
        raise LakeQueryError(WHY)

    async def write(self, batch: str, events: Sequence[Event]) -> list[str]:
        raise LakeQueryError(WHY)

    async def compact(self, day: date) -> Compaction:
        raise LakeQueryError(WHY)
