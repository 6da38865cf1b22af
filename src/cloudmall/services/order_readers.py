"""The orders context's background work in a long-lived process: the outbox's `orders` reader,
which cancels the pending orders whose stock reservations expired."""

from __future__ import annotations

import functools
from collections.abc import Collection

from cloudmall.services.cancellation import handle_stock_event
from cloudmall.services.outbox_readers import HandlingReader
from cloudmall.services.ports import NO_TRACER, Tracer, UnitOfWorkFactory

#: The outbox reader that cancels orders whose reservation expired (config.OUTBOX_CONSUMERS).
ORDERS_CONSUMER = "orders"


def orders_reader(
    uow: UnitOfWorkFactory,
    *,
    batch_size: int,
    consumers: Collection[str],
    tracer: Tracer = NO_TRACER,
) -> HandlingReader:
    """The outbox's `orders` reader: each `stock.reservation_expired` cancels its pending order
    (once; a paid one stays)."""
    return HandlingReader(
        ORDERS_CONSUMER,
        functools.partial(handle_stock_event, uow),
        uow,
        batch_size,
        consumers,
        tracer,
    )
