"""The products context's background work in a long-lived process: the sweeper that releases
expired reservations, and the outbox's `stock` reader that releases cancelled orders' ones."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.follow_loop import Backoff, follow_counting, utc_now
from cloudmall.services.outbox_readers import HandlingReader
from cloudmall.services.ports import NO_TRACER, Tracer, UnitOfWorkFactory

log = logging.getLogger(__name__)

#: The outbox reader that gives cancelled orders' units back (config.OUTBOX_CONSUMERS).
STOCK_CONSUMER = "stock"
#: How often a server process looks for expired reservations.
SWEEP_SECONDS = 30.0
SWEEP_MAX_DELAY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class StockSweeper:
    """Releases the reservations whose time is up (`cloudmall stock expire` runs it once)."""

    uow: UnitOfWorkFactory
    cache: CatalogCache
    clock: Callable[[], datetime] = utc_now

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
        await follow_counting(self.run_once, name="stock sweeper", backoff=backoff, stop=stop)


def stock_reader(
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    *,
    batch_size: int,
    consumers: Collection[str],
    tracer: Tracer = NO_TRACER,
) -> HandlingReader:
    """The outbox's `stock` reader: each `order.cancelled` releases its order's reservation."""
    handle = functools.partial(stock.handle_order_event, uow, cache=cache)
    return HandlingReader(STOCK_CONSUMER, handle, uow, batch_size, consumers, tracer)
