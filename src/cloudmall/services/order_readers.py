"""The orders context's background work in a long-lived process: the outbox's `orders` reader,
which cancels the pending orders whose stock reservations expired."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from cloudmall.services.cancellation import handle_stock_event
from cloudmall.services.follow_loop import Backoff, keep_following
from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import UnitOfWorkFactory
from cloudmall.services.stock_readers import log_handled

#: The outbox reader that cancels orders whose reservation expired (config.OUTBOX_CONSUMERS).
ORDERS_CONSUMER = "orders"


@dataclass(frozen=True, slots=True)
class OrdersReader:
    """The outbox's `orders` reader: each `stock.reservation_expired` cancels its pending order
    (once; a paid one stays)."""

    uow: UnitOfWorkFactory
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged

    async def run_once(self) -> int:
        """Handle every event waiting now; how many events were read."""
        read = 0
        while (batch := await claim_batch(self.uow, ORDERS_CONSUMER, self.batch_size)) is not None:
            for entry in batch.entries:
                await handle_stock_event(self.uow, entry.event)
            await finish_batch(self.uow, ORDERS_CONSUMER, batch, self.consumers)
            read += len(batch.entries)
        return read

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        await keep_following(
            self.run_once,
            name="orders reader",
            backoff=backoff,
            stop=stop,
            report=log_handled("orders reader"),
        )
