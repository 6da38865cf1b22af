"""The lake's export against fakes: a batch is claimed before it is written and finished after,
so a failure anywhere in between ends, after a rerun, with each event written exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

import pytest

from cloudmall.domain import events
from cloudmall.domain.errors import InvalidInput
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.lake import Exporter, ReportSpan
from tests.unit.fakes import FakeStore

pytestmark = pytest.mark.anyio


class FlakyLake:
    """Keeps files by name (a rewrite replaces); fails the write number `fail_at` once."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.files: dict[str, list[str]] = {}
        self.writes = 0
        self.fail_at = fail_at
        self.written = asyncio.Event()

    async def write(self, batch: str, written: Sequence[events.Event]) -> list[str]:
        self.writes += 1
        if self.writes == self.fail_at:
            self.files[f"part-{batch}"] = [e.id for e in written[: len(written) // 2]]
            raise OSError("the store went away mid-batch")
        self.files[f"part-{batch}"] = [e.id for e in written]
        self.written.set()
        return [f"part-{batch}"]

    def event_ids(self) -> list[str]:
        return [event_id for ids in self.files.values() for event_id in ids]


async def add_events(store: FakeStore, count: int) -> list[str]:
    made = [events.new_event(events.ORDER_PAID, i, {"order_id": i}) for i in range(count)]
    async with store(write=True) as tx:
        await tx.outbox.add(made)
        await tx.commit()
    return [event.id for event in made]


async def test_an_export_moves_every_event_once_and_empties_the_outbox(store) -> None:  # type: ignore[no-untyped-def]
    ids = await add_events(store, 25)
    lake = FlakyLake()
    exporter = Exporter(uow=store, lake=lake, batch_size=10, consumers=("lake",))
    result = await exporter.run_once()
    assert (result.events, result.batches, result.purged) == (25, 3, 25)
    assert sorted(lake.event_ids()) == sorted(ids)
    assert store.data.outbox == []
    assert (await exporter.run_once()).events == 0


async def test_a_failed_write_is_redone_under_the_same_name(store) -> None:  # type: ignore[no-untyped-def]
    ids = await add_events(store, 25)
    lake = FlakyLake(fail_at=2)
    exporter = Exporter(uow=store, lake=lake, batch_size=10, consumers=("lake",))
    with pytest.raises(OSError, match="mid-batch"):
        await exporter.run_once()
    assert len(lake.event_ids()) == 15  # the first batch and half of the second
    result = await exporter.run_once()
    assert result.events == 15  # the second batch again, then the third
    assert sorted(lake.event_ids()) == sorted(ids)  # the half file was replaced, not added to


async def test_events_wait_in_the_outbox_for_every_consumer(store) -> None:  # type: ignore[no-untyped-def]
    await add_events(store, 5)
    exporter = Exporter(uow=store, lake=FlakyLake(), batch_size=10, consumers=("lake", "mail"))
    result = await exporter.run_once()
    assert (result.events, result.purged) == (5, 0)
    assert len(store.data.outbox) == 5  # mail has not read them yet


def test_a_report_span_defaults_to_the_last_thirty_days_and_refuses_a_backward_one() -> None:
    span = ReportSpan.of(None, None, today=date(2026, 12, 2))
    assert (span.first_day, span.last_day) == (date(2026, 11, 3), date(2026, 12, 2))
    with pytest.raises(InvalidInput):
        ReportSpan.of(date(2026, 12, 2), date(2026, 12, 1))


async def test_follow_exports_what_comes_in_until_stopped(store) -> None:  # type: ignore[no-untyped-def]
    lake = FlakyLake()
    exporter = Exporter(uow=store, lake=lake, batch_size=10, consumers=("lake",))
    stop = asyncio.Event()
    rounds: list[int] = []
    following = asyncio.create_task(
        exporter.follow(
            backoff=Backoff(interval=0.01, max_delay=0.05),
            report=lambda r: rounds.append(r.events),
            stop=stop,
        )
    )
    first = await add_events(store, 3)
    await asyncio.wait_for(lake.written.wait(), 1)
    lake.written.clear()
    second = await add_events(store, 4)
    await asyncio.wait_for(lake.written.wait(), 1)
    stop.set()
    await asyncio.wait_for(following, 1)
    assert sorted(lake.event_ids()) == sorted(first + second) and rounds == [3, 4]


async def test_follow_outlives_a_failed_export_and_writes_the_batch_again(store) -> None:  # type: ignore[no-untyped-def]
    ids = await add_events(store, 5)
    lake = FlakyLake(fail_at=1)
    exporter = Exporter(uow=store, lake=lake, batch_size=10, consumers=("lake",))
    stop = asyncio.Event()
    following = asyncio.create_task(
        exporter.follow(backoff=Backoff(interval=0.01, max_delay=0.02), stop=stop)
    )
    await asyncio.wait_for(lake.written.wait(), 1)
    stop.set()
    await asyncio.wait_for(following, 1)
    assert lake.writes == 2 and sorted(lake.event_ids()) == sorted(ids)
    assert store.data.outbox == []
