"""The transactional outbox: a unit of work's events go in one record item, written in the
same TransactWriteItems as the change they describe (one item, however many events: an order
of MAX_LINES lines stays far within the 100-item limit).

Records live in one partition, in position order; each consumer's batches are items of its own
partition, and a consumer item whose version every claim raises (so two runs of one consumer
never claim the same events). Claiming reads the records still in the outbox: a background
job's read, never a request's; purging keeps the partition short. (At more than ~1,000 events
a second, one partition's write limit, DynamoDB Streams would be the outbox instead.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from cloudmall.adapters.db.outbox_repository import batch_name
from cloudmall.adapters.dynamodb.table import OUTBOX, sortable_id
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.adapters.event_json import decode, encode
from cloudmall.domain.events import Event
from cloudmall.services.ports import NO_TRACER, OutboxBatch, OutboxEntry, RetryableConflict, Tracer
from cloudmall.services.trace_context import stamped

#: The writes one purge may add to its transaction (the exporter's finish takes one more).
PURGE_WRITES = 90


def _entries(record: dict[str, Any]) -> list[OutboxEntry]:
    first = int(record["first"])
    return [OutboxEntry(first + i, decode(text)) for i, text in enumerate(record["events"])]


def _consumer(consumer: str) -> str:
    return f"OUTBOX#{consumer}"


def _claimed_meanwhile() -> Exception:
    return RetryableConflict("outbox events claimed meanwhile")


class DynamoOutbox:
    def __init__(self, tx: DynamoTransaction, tracer: Tracer = NO_TRACER) -> None:
        self._tx = tx
        self._tracer = tracer
        self._events: list[Event] = []
        self._claimed: set[tuple[str, str]] = set()  # batches this transaction claims
        tx.before_commit.append(self._write_record)

    async def add(self, events: Sequence[Event]) -> None:
        # Stamped now, in the writer's span (the record is written at commit).
        self._events.extend(stamped(events, self._tracer.traceparent()))

    async def _write_record(self) -> None:
        """At commit: this transaction's events as one record, at the next positions."""
        if not self._events:
            return
        first = await self._tx.next_ids("outbox", len(self._events))
        self._tx.put(
            {
                "PK": OUTBOX,
                "SK": sortable_id(first),
                "first": first,
                "events": [encode(event) for event in self._events],
            },
            condition="attribute_not_exists(#PK)",
            refused=_claimed_meanwhile,
        )
        self._events = []

    async def _records(self) -> list[dict[str, Any]]:
        return await self._tx.query(OUTBOX)

    async def _batches(self, consumer: str) -> list[dict[str, Any]]:
        return await self._tx.query(_consumer(consumer), prefix="BATCH#")

    async def claim(self, consumer: str, limit: int, *, gaps: bool) -> OutboxBatch | None:
        """As the port says; both ways read the consumer's whole batch partition and the whole
        outbox partition (DynamoDB has no cheaper query for either), so `gaps=False` only keeps
        the contract (positions are taken just before commit, so gaps happen here too)."""
        batches = await self._batches(consumer)
        entries = [e for record in await self._records() for e in _entries(record)]
        unfinished = [batch for batch in batches if not batch["finished"]]
        if unfinished:
            batch = unfinished[0]  # (sort key order: the oldest)
            positions = {int(p) for p in batch["positions"]}
            name = batch["SK"].removeprefix("BATCH#")
            return OutboxBatch(consumer, name, tuple(e for e in entries if e.position in positions))
        claimed = {int(p) for batch in batches for p in batch["positions"]}
        highest = max(claimed, default=0)
        fresh = tuple(
            e for e in entries if e.position not in claimed and (gaps or e.position > highest)
        )[:limit]
        if not fresh:
            return None
        name = batch_name(fresh)
        partition = _consumer(consumer)
        first = await self._tx.next_ids("outbox_claim", len(fresh))  # SQL's claim rows' ids
        self._put_batch(
            {
                "PK": partition,
                "SK": f"BATCH#{name}",
                "positions": [e.position for e in fresh],
                "claims": list(range(first, first + len(fresh))),
                "finished": False,
            }
        )
        before = await self._tx.get((partition, "CONSUMER"))
        version = int(before["version"]) if before else 0
        self._tx.update(
            (partition, "CONSUMER"),
            set_={"version": version + 1},
            condition="attribute_not_exists(#PK) OR #version = :read",
            values={":read": version},
            after={"PK": partition, "SK": "CONSUMER", "version": version + 1},
            refused=_claimed_meanwhile,
        )
        return OutboxBatch(consumer, name, fresh)

    def _put_batch(self, item: dict[str, Any], *, again: bool = False) -> None:
        self._tx.put(
            item, condition="attribute_not_exists(#PK)", refused=_claimed_meanwhile, again=again
        )
        self._claimed.add((item["PK"], item["SK"]))

    async def finish(self, consumer: str, batch: str) -> None:
        key = (_consumer(consumer), f"BATCH#{batch}")
        before = await self._tx.get(key)
        if before is not None and key in self._claimed:  # claimed and finished in one go
            self._put_batch({**before, "finished": True}, again=True)
        elif before is not None:
            self._tx.update(
                key,
                set_={"finished": True},
                condition="attribute_exists(#PK)",
                after={**before, "finished": True},
                refused=_claimed_meanwhile,
            )

    async def _finished(self, consumer: str) -> set[int]:
        batches = await self._batches(consumer)
        return {int(p) for batch in batches if batch["finished"] for p in batch["positions"]}

    async def purge(self, consumers: Collection[str], limit: int) -> int:
        """Delete the oldest records every consumer has finished, whole (a record's events go
        together), until `limit` events went or the transaction's share of writes is used."""
        if not consumers:
            return 0
        done = set.intersection(*[await self._finished(consumer) for consumer in consumers])
        purged = 0
        for record in await self._records():
            entries = _entries(record)
            if purged >= limit or self._tx.writes >= PURGE_WRITES:
                break
            if all(e.position in done for e in entries):
                self._tx.delete((OUTBOX, record["SK"]), refused=_claimed_meanwhile)
                purged += len(entries)
        await self._forget_batches(consumers)
        return purged

    async def _forget_batches(self, consumers: Collection[str]) -> None:
        """Delete finished batches none of whose events is in the outbox any more."""
        left = {e.position for record in await self._records() for e in _entries(record)}
        for consumer in consumers:
            for batch in await self._batches(consumer):
                if self._tx.writes >= PURGE_WRITES:
                    return
                key = (batch["PK"], batch["SK"])
                if self._tx.writes_to(key):  # finished just now: the next purge takes it
                    continue
                if batch["finished"] and not left & {int(p) for p in batch["positions"]}:
                    self._tx.delete(key, refused=_claimed_meanwhile)

    async def backlog(self, consumer: str) -> int:
        finished = await self._finished(consumer)
        records = await self._records()
        return sum(1 for r in records for e in _entries(r) if e.position not in finished)
