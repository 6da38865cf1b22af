"""The products context's background work in a long-lived process: the sweeper that releases
expired reservations, and the outbox's `stock` reader that releases cancelled orders' ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.follow_loop import Backoff, keep_following
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


def log_handled(name: str) -> Callable[[int], None]:
    """A follow loop's report: how many a run handled, when it handled any."""

    def report(done: int) -> None:
        if done:
            log.info("%s: %d handled", name, done)

    return report


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
            # Until a batch finds none: a table's batch may be cut short of EXPIRE_BATCH to fit
            # one transaction, so a short batch does not mean the backlog is gone.
            if count == 0:
                return released

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        await keep_following(
            self.run_once,
            name="stock sweeper",
            backoff=backoff,
            stop=stop,
            report=log_handled("stock sweeper"),
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

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        await keep_following(
            self.run_once,
            name="stock reader",
            backoff=backoff,
            stop=stop,
            report=log_handled("stock reader"),
        )
