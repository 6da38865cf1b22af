"""The services topology's consumers of the broker: a context that needs another's events
receives them in its own consumer group, each handled once through its inbox
(docs/microservices.md, the order saga). In the monolith the outbox's `stock` and `orders`
readers do the same from the one outbox."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial

from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services import stock
from cloudmall.services.cancellation import cancel_unpaid_in, expired_reservation
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.event_consumer import AfterCommit, EventConsumer, EventHandler
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.ports import UnitOfWork

log = logging.getLogger(__name__)

#: The products service's group: `order.cancelled` releases the order's reservation.
PRODUCTS_GROUP = "products"
PRODUCTS_TYPES = frozenset({events.ORDER_CANCELLED.name})
#: The orders service's group: `stock.reservation_expired` cancels the pending order.
ORDERS_GROUP = "orders"
ORDERS_TYPES = frozenset({events.STOCK_RESERVATION_EXPIRED.name})


def release_on_cancel(cache: CatalogCache) -> EventHandler:
    """A cancelled order's reservation released (once: released already, nothing moves); the
    catalogue's answers forgotten after the commit."""

    async def handle(event: Event, tx: UnitOfWork) -> AfterCommit | None:
        reservation_id = stock.cancelled_reservation(event)
        if reservation_id is None:
            return None
        released = await stock.release_in(tx, reservation_id)
        return partial(released.invalidate, cache)

    return handle


async def cancel_on_expiry(event: Event, tx: UnitOfWork) -> None:
    """The pending order whose reservation expired, cancelled (a paid one stays)."""
    reservation_id = expired_reservation(event)
    if reservation_id and await cancel_unpaid_in(tx, reservation_id) is not None:
        log.info("cancelled an order whose reservation expired")


@dataclass(frozen=True, slots=True)
class GroupLoop:
    """An EventConsumer as a server's background loop (outbox_readers.BackgroundLoop): each
    batch waits up to `block_seconds` on the broker; after failures, up to the backoff's
    longest delay."""

    consumer: EventConsumer
    block_seconds: float = 1.0

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        await self.consumer.follow(
            stop=stop, block_seconds=self.block_seconds, max_delay=backoff.max_delay
        )
