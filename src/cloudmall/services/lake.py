"""The data lake: outbox events exported as Parquet, and the report read back with SQL.

Export is exactly-once by construction: a batch is claimed (committed) before its files are
written, its files are named after the batch, and it is marked finished only after they are all
written. A run that dies anywhere in between gets the same batch back next time and writes the
same files again, over the first ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cloudmall.domain.errors import InvalidInput
from cloudmall.services.follow_loop import Backoff, keep_following
from cloudmall.services.lake_sql import REPORT_QUERIES
from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import (
    EventLake,
    LakeQueries,
    LakeQueryError,
    QueryResult,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

#: The outbox consumer the lake's export is.
LAKE_CONSUMER = "lake"
#: The longest wait between export runs while the lake (or the database) is away.
LAKE_MAX_DELAY_SECONDS = 60.0
#: How far back the report looks unless told (and the overview's window).
DEFAULT_REPORT_DAYS = 30


@dataclass(frozen=True, slots=True)
class ExportResult:
    events: int
    batches: int
    files: int
    purged: int


@dataclass(frozen=True, slots=True)
class Exporter:
    """Moves the outbox's events to the lake, batch by batch."""

    uow: UnitOfWorkFactory
    lake: EventLake
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged

    async def run_once(self) -> ExportResult:
        """Export every event waiting now; ends when the outbox has none left for the lake."""
        events = batches = files = purged = 0
        while (batch := await claim_batch(self.uow, LAKE_CONSUMER, self.batch_size)) is not None:
            keys = await self.lake.write(batch.name, [entry.event for entry in batch.entries])
            purged += await finish_batch(self.uow, LAKE_CONSUMER, batch, self.consumers)
            events += len(batch.entries)
            batches += 1
            files += len(keys)
        return ExportResult(events, batches, files, purged)

    async def follow(
        self,
        *,
        backoff: Backoff,
        stop: asyncio.Event,
        report: Callable[[ExportResult], None] = lambda result: None,
    ) -> None:
        """Export, then again and again until `stop` is set, backing off while the lake (or the
        database) is away; `report` hears of each run that exported something."""

        def exported_some(result: ExportResult) -> None:
            if result.events:
                report(result)

        await keep_following(
            self.run_once, name="lake", backoff=backoff, stop=stop, report=exported_some
        )


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportSpan:
    first_day: date
    last_day: date

    @classmethod
    def of(cls, first: date | None, last: date | None, *, today: date | None = None) -> ReportSpan:
        """The days asked for; by default the last DEFAULT_REPORT_DAYS days up to today."""
        last_day = last or today or datetime.now(UTC).date()
        first_day = first or last_day - timedelta(days=DEFAULT_REPORT_DAYS - 1)
        if first_day > last_day:
            raise InvalidInput("--from must not be after --to")
        return cls(first_day, last_day)

    @property
    def parameters(self) -> list[str]:
        return [self.first_day.isoformat(), self.last_day.isoformat()]


@dataclass(frozen=True, slots=True)
class Headline:
    """The figures the staff overview shows."""

    orders: int
    paid_orders: int
    revenue: Decimal
    average_order_value: Decimal | None
    cancellation_rate: float | None
    payment_decline_rate: float | None


@dataclass(frozen=True, slots=True)
class LakeSummary:
    """The lake's headline over its days (events as exported so far, not live)."""

    first_day: date
    last_day: date
    headline: Headline


@dataclass(frozen=True, slots=True)
class LakeReport:
    span: ReportSpan
    headline: Headline
    sections: dict[str, QueryResult]  # by query name (REPORT_QUERIES), headline included


def _record(result: QueryResult) -> dict[str, Any]:
    return dict(zip(result.columns, result.rows[0], strict=True)) if result.rows else {}


def headline_of(sections: dict[str, QueryResult]) -> Headline:
    orders = _record(sections["headline"])
    payments = _record(sections["payments"])
    return Headline(
        orders=int(orders.get("orders") or 0),
        paid_orders=int(orders.get("paid_orders") or 0),
        revenue=Decimal(orders.get("revenue") or 0).quantize(Decimal("0.01")),
        average_order_value=orders.get("average_order_value"),
        cancellation_rate=orders.get("cancellation_rate"),
        payment_decline_rate=payments.get("decline_rate"),
    )


async def report(
    *, queries: LakeQueries, span: ReportSpan, only: Sequence[str] | None = None
) -> LakeReport:
    """The report's queries (all of REPORT_QUERIES, or `only` those with the headline's) over
    the days of `span`."""
    names = list(dict.fromkeys(REPORT_QUERIES if only is None else ["headline", "payments", *only]))
    results = await queries.query_many([REPORT_QUERIES[name] for name in names], span.parameters)
    sections = dict(zip(names, results, strict=True))
    return LakeReport(span, headline_of(sections), sections)


async def summary(*, queries: LakeQueries, span: ReportSpan) -> LakeSummary | None:
    """The headline for the staff overview; None (logged) if the lake cannot be read now."""
    try:
        found = await report(queries=queries, span=span, only=())
    except (LakeQueryError, OSError) as exc:  # pyarrow reports a store it cannot read as OSError
        log.warning("the lake could not answer the overview (%s)", first_line(exc))
        return None
    return LakeSummary(span.first_day, span.last_day, found.headline)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


async def query(*, queries: LakeQueries, sql: str) -> QueryResult:
    """One statement of the operator's over the lake's tables."""
    if not sql.strip():
        raise InvalidInput("The query is empty")
    try:
        return await queries.query(sql)
    except LakeQueryError as exc:
        raise InvalidInput(f"The lake refused the query: {exc}") from exc
