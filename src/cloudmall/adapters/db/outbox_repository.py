"""The transactional outbox over one AsyncConnection."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import outbox_claims, outbox_events
from cloudmall.domain.events import Event
from cloudmall.services.ports import NO_TRACER, OutboxBatch, OutboxEntry, RetryableConflict, Tracer
from cloudmall.services.trace_context import stamped

_INSERT_EVENTS = outbox_events.insert()


def _row(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "event_type": event.type,
        "event_version": event.version,
        "occurred_at": event.occurred_at,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "payload": json.dumps(event.payload, separators=(",", ":"), sort_keys=True),
        "request_id": event.request_id,
        "traceparent": event.traceparent,
    }


def _entry(row: Row[Any]) -> OutboxEntry:
    return OutboxEntry(
        position=int(row.id),
        event=Event(
            id=row.event_id,
            type=row.event_type,
            version=int(row.event_version),
            occurred_at=row.occurred_at,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            payload=json.loads(row.payload),
            request_id=row.request_id,
            traceparent=row.traceparent,
        ),
    )


def batch_name(entries: Sequence[OutboxEntry]) -> str:
    """Unique to the events (never reused, even after the outbox's ids restart), sortable."""
    digest = hashlib.sha256("\n".join(e.event.id for e in entries).encode()).hexdigest()
    return f"{entries[0].position:012d}-{digest[:16]}"


def _unclaimed(consumer: str) -> ColumnElement[bool]:
    """Events the consumer has not claimed: the claims of every event before the first such
    one are looked at (they stay until every consumer finished them)."""
    claimed = exists().where(
        outbox_claims.c.consumer == consumer, outbox_claims.c.outbox_id == outbox_events.c.id
    )
    return ~claimed


class SqlOutbox:
    def __init__(self, conn: AsyncConnection, tracer: Tracer = NO_TRACER) -> None:
        self._conn = conn
        self._tracer = tracer

    async def add(self, events: Sequence[Event]) -> None:
        if events:
            rows = [_row(event) for event in stamped(events, self._tracer.traceparent())]
            await self._conn.execute(_INSERT_EVENTS, rows)

    async def claim(self, consumer: str, limit: int, *, gaps: bool) -> OutboxBatch | None:
        unfinished = (
            await self._conn.execute(
                select(outbox_claims.c.batch)
                .where(outbox_claims.c.consumer == consumer, outbox_claims.c.finished.is_(False))
                .order_by(outbox_claims.c.batch)
                .limit(1)
            )
        ).scalar_one_or_none()
        if unfinished is not None:
            return await self._batch(consumer, unfinished)
        waiting = _unclaimed(consumer) if gaps else await self._after_claimed(consumer)
        rows = await self._conn.execute(
            select(outbox_events).where(waiting).order_by(outbox_events.c.id).limit(limit)
        )
        entries = tuple(_entry(row) for row in rows)
        if not entries:
            return None
        name = batch_name(entries)
        try:
            await self._conn.execute(
                outbox_claims.insert(),
                [
                    {
                        "consumer": consumer,
                        "outbox_id": e.position,
                        "batch": name,
                        "finished": False,
                    }
                    for e in entries
                ],
            )
        except IntegrityError as exc:  # another run of this consumer claimed them meanwhile
            raise RetryableConflict("outbox events claimed meanwhile") from exc
        return OutboxBatch(consumer, name, entries)

    async def _after_claimed(self, consumer: str) -> ColumnElement[bool]:
        """Events above the highest one the consumer claimed: one probe of the unique
        (consumer, outbox_id) index, then a range of the primary key (the highest is read
        first, so every database plans the range with it as a constant)."""
        highest = await self._conn.execute(
            select(func.max(outbox_claims.c.outbox_id)).where(outbox_claims.c.consumer == consumer)
        )
        return outbox_events.c.id > (highest.scalar_one() or 0)

    async def _batch(self, consumer: str, name: str) -> OutboxBatch:
        rows = await self._conn.execute(
            select(outbox_events)
            .join(outbox_claims, outbox_claims.c.outbox_id == outbox_events.c.id)
            .where(outbox_claims.c.consumer == consumer, outbox_claims.c.batch == name)
            .order_by(outbox_events.c.id)
        )
        return OutboxBatch(consumer, name, tuple(_entry(row) for row in rows))

    async def finish(self, consumer: str, batch: str) -> None:
        await self._conn.execute(
            update(outbox_claims)
            .where(outbox_claims.c.consumer == consumer, outbox_claims.c.batch == batch)
            .values(finished=True)
        )

    async def purge(self, consumers: Collection[str], limit: int) -> int:
        if not consumers:
            return 0
        # Only the oldest `limit` events are looked at: the readers finish in the outbox's order,
        # and a look over every finished claim (a grouping of the whole table) cost each batch
        # of each reader time in proportion to what one slow reader (the lake's export, hourly)
        # had left in the outbox — 28 ms a batch at 20,000 claims on MariaDB.
        oldest = select(outbox_events.c.id).order_by(outbox_events.c.id).limit(limit).subquery()
        finished = (
            select(func.count())
            .where(
                outbox_claims.c.outbox_id == oldest.c.id,
                outbox_claims.c.consumer.in_(consumers),
                outbox_claims.c.finished.is_(True),
            )
            .scalar_subquery()
        )
        done = select(oldest.c.id).where(finished == len(set(consumers))).order_by(oldest.c.id)
        ids = list((await self._conn.execute(done)).scalars())
        if ids:
            # Claims first (MySQL cannot delete from a table its own subquery reads).
            await self._conn.execute(
                delete(outbox_claims).where(outbox_claims.c.outbox_id.in_(ids))
            )
            await self._conn.execute(delete(outbox_events).where(outbox_events.c.id.in_(ids)))
        return len(ids)

    async def backlog(self, consumer: str) -> int:
        finished = exists().where(
            and_(
                outbox_claims.c.consumer == consumer,
                outbox_claims.c.outbox_id == outbox_events.c.id,
                outbox_claims.c.finished.is_(True),
            )
        )
        count = select(func.count()).select_from(outbox_events).where(~finished)
        return int((await self._conn.execute(count)).scalar_one())
