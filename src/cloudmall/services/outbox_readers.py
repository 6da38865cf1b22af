"""What the outbox's readers (the lake export, mail, the broker relay, the saga's `stock` and
`orders` readers) share: taking and finishing their batches, and running in the background of a
long-lived process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from cloudmall.domain.events import Event
from cloudmall.services.follow_loop import Backoff, follow_counting
from cloudmall.services.gap_sweeps import GapSweeps
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import NO_TRACER, OutboxBatch, Tracer, UnitOfWorkFactory
from cloudmall.services.trace_context import handling

#: This process's gap sweeps (each reader's claims share them).
PROCESS_SWEEPS = GapSweeps()


async def claim_batch(
    uow: UnitOfWorkFactory, consumer: str, batch_size: int, sweeps: GapSweeps = PROCESS_SWEEPS
) -> OutboxBatch | None:
    """The reader's next batch (the one it left unfinished first), claimed in a committed
    transaction of its own before the reader acts on it; None when nothing waits. It looks
    above the events the reader claimed, and also below them when `sweeps` says so."""

    async def claim(gaps: bool) -> OutboxBatch | None:
        async with uow(write=True) as tx:
            batch = await tx.outbox.claim(consumer, batch_size, gaps=gaps)
            await tx.commit()
        if gaps:
            sweeps.swept(consumer)
        return batch

    sweep = sweeps.due(consumer)
    batch = await with_retries(lambda: claim(sweep))
    if batch is None and not sweep:
        batch = await with_retries(lambda: claim(True))
    return batch


async def finish_batch(
    uow: UnitOfWorkFactory, consumer: str, batch: OutboxBatch, consumers: Collection[str]
) -> int:
    """Mark the batch done and purge what every reader (`consumers`) has finished; how many
    events were purged."""

    async def finish() -> int:
        async with uow(write=True) as tx:
            await tx.outbox.finish(consumer, batch.name)
            purged = await tx.outbox.purge(consumers, len(batch.entries))
            await tx.commit()
        return purged

    return await with_retries(finish)


@dataclass(frozen=True, slots=True)
class HandlingReader:
    """A reader that gives each event to one handler, which acts on it once however often it
    is given (the monolith's `stock` and `orders` readers; between services the same handlers
    run behind the broker)."""

    consumer: str
    handle: Callable[[Event], Awaitable[object]]
    uow: UnitOfWorkFactory
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged
    tracer: Tracer = NO_TRACER

    async def run_once(self) -> int:
        """Handle every event waiting now, each in the trace that recorded it; how many events
        were read."""
        read = 0
        while (batch := await claim_batch(self.uow, self.consumer, self.batch_size)) is not None:
            for entry in batch.entries:
                with handling(self.tracer, entry.event):
                    await self.handle(entry.event)
            await finish_batch(self.uow, self.consumer, batch, self.consumers)
            read += len(batch.entries)
        return read

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        name = f"{self.consumer} reader"
        await follow_counting(self.run_once, name=name, backoff=backoff, stop=stop)


class Follower(Protocol):
    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        """Run until `stop` is set, waiting between runs as `backoff` says."""
        ...


class BackgroundLoop:
    """A reader following the outbox in the background (`Shop.start` / `Shop.stop`)."""

    def __init__(self, reader: Follower, *, backoff: Backoff) -> None:
        self._reader = reader
        self._backoff = backoff
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def reader(self) -> Follower:
        return self._reader

    def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            follow = self._reader.follow(backoff=self._backoff, stop=self._stop)
            self._task = asyncio.get_running_loop().create_task(follow)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the batch at hand finish for up to `grace_seconds`, then cut it off: what it
        had not finished is handed out again later, to this process or another."""
        if self._task is not None:
            self._stop.set()
            _, running = await asyncio.wait({self._task}, timeout=grace_seconds)
            for task in running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._task = None
