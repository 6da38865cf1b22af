"""The outbox readers' gap sweeps: an event whose transaction took an earlier position and
committed after later events were claimed is claimed by the next sweep, once; the claims in
between look above the claimed events only."""

from __future__ import annotations

import pytest

from cloudmall.domain import events
from cloudmall.services.gap_sweeps import GapSweeps
from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import OutboxEntry
from tests.unit.fakes import FakeStore

pytestmark = pytest.mark.anyio

#: The lake lags: what mail finished stays in the outbox (as its claims do).
READERS = ("mail", "lake")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sweep_is_due_first_then_once_every_period_per_consumer() -> None:
    clock = Clock()
    sweeps = GapSweeps(every_seconds=30, clock=clock)
    assert sweeps.due("mail")
    sweeps.swept("mail")
    assert not sweeps.due("mail")
    assert sweeps.due("lake")  # each consumer its own
    clock.now += 29.9
    assert not sweeps.due("mail")
    clock.now += 0.1
    assert sweeps.due("mail")
    sweeps.swept("mail")
    assert not sweeps.due("mail")


async def add(store: FakeStore, aggregate_id: int) -> events.Event:
    event = events.new_event(events.ORDER_PAID, aggregate_id, {})
    async with store(write=True) as tx:
        await tx.outbox.add([event])
        await tx.commit()
    return event


async def claim(store: FakeStore, sweeps: GapSweeps) -> list[events.Event]:
    """The mail reader's next batch, finished at once."""
    batch = await claim_batch(store, "mail", 10, sweeps)
    if batch is None:
        return []
    await finish_batch(store, "mail", batch, READERS)
    return [entry.event for entry in batch.entries]


async def test_a_late_event_below_the_claimed_ones_is_claimed_by_the_next_sweep_once() -> None:
    store, clock = FakeStore(), Clock()
    sweeps = GapSweeps(every_seconds=30, clock=clock)
    late_position = next(store.data.ids)  # taken by a transaction that commits late
    first = [await add(store, 1), await add(store, 2)]
    assert await claim(store, sweeps) == first  # (the process's first claim: a sweep)
    late = events.new_event(events.ORDER_PAID, 0, {})
    store.data.outbox.append(OutboxEntry(late_position, late))  # it commits now
    after = await add(store, 3)
    assert await claim(store, sweeps) == [after]  # no sweep due: above the claimed ones only
    assert await claim(store, sweeps) == [late]  # nothing above: a sweep at once
    assert await claim(store, sweeps) == []
    async with store() as tx:
        assert await tx.outbox.backlog("mail") == 0


async def test_a_busy_reader_sweeps_once_the_period_is_over() -> None:
    store, clock = FakeStore(), Clock()
    sweeps = GapSweeps(every_seconds=30, clock=clock)
    late_position = next(store.data.ids)
    first = [await add(store, 1)]
    assert await claim(store, sweeps) == first
    late = events.new_event(events.ORDER_PAID, 0, {})
    store.data.outbox.append(OutboxEntry(late_position, late))
    newer = [await add(store, 2)]
    clock.now += 29
    assert await claim(store, sweeps) == newer
    newer = [await add(store, 3)]
    clock.now += 1
    assert await claim(store, sweeps) == [late, *newer]  # the sweep: oldest first
    assert await claim(store, sweeps) == []
