"""The products context's background work in a long-lived process: the sweeper that releases
expired reservations, and the outbox's `stock` reader that releases cancelled orders' ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

#: The outbox reader that gives cancelled orders' units back (config.OUTBOX_CONSUMERS).
STOCK_CONSUMER = "stock"
#: How often a server process looks for expired reservations.
SWEEP_SECONDS = 30.0
SWEEP_MAX_DELAY_SECONDS = 300.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _follow(
    name: str,
    run_once: Callable[[], Awaitable[int]],
    *,
    interval: float,
    max_delay: float,
    stop: asyncio.Event,
) -> None:
    """`run_once`, then again every `interval` seconds until `stop` is set; after a failure (the
    database away for a while) wait twice as long as the last time, up to `max_delay`."""
    delay = interval
    while not stop.is_set():
        try:
            done = await run_once()
        except Exception:  # keep the loop alive
            delay = min(max_delay, delay * 2)
            log.exception("%s: the run failed; next attempt in %.0f s", name, delay)
        else:
            delay = interval
            if done:
                log.info("%s: %d handled", name, done)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


@dataclass(frozen=True, slots=True)
class StockSweeper:
    """Releases the reservations whose time is up (`cloudmall stock expire` runs it once)."""

    uow: UnitOfWorkFactory
    cache: CatalogCache
    clock: Callable[[], datetime] = _utc_now

    async def run_once(self) -> int:
        """Release every reservation due now, a batch per transaction; how many."""
        released = 0
        while True:
            count = await stock.expire_due(self.uow, cache=self.cache, now=self.clock())
            released += count
            if count < stock.EXPIRE_BATCH:
                return released

    async def follow(self, *, interval: float, max_delay: float, stop: asyncio.Event) -> None:
        await _follow(
            "stock sweeper", self.run_once, interval=interval, max_delay=max_delay, stop=stop
        )


@dataclass(frozen=True, slots=True)
class StockReader:
    """The outbox's `stock` reader: each `order.cancelled` releases its order's reservation."""

    uow: UnitOfWorkFactory
    cache: CatalogCache
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged

    async def run_once(self) -> int:
        """Handle every event waiting now; how many events were read."""
        read = 0
        while (batch := await claim_batch(self.uow, STOCK_CONSUMER, self.batch_size)) is not None:
            for entry in batch.entries:
                await stock.handle_order_event(self.uow, entry.event, cache=self.cache)
            await finish_batch(self.uow, STOCK_CONSUMER, batch, self.consumers)
            read += len(batch.entries)
        return read

    async def follow(self, *, interval: float, max_delay: float, stop: asyncio.Event) -> None:
        await _follow(
            "stock reader", self.run_once, interval=interval, max_delay=max_delay, stop=stop
        )
