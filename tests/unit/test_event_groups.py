"""The services topology's consumers of the broker against fakes: the products group releases a
cancelled order's reservation once however often `order.cancelled` comes, the orders group
cancels the pending order whose reservation expired; each skips the types it does not handle
without an inbox row, and what a handler leaves for after its commit runs after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.domain.orders import OrderStatus
from cloudmall.domain.reservations import ReservationStatus
from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.event_consumer import AfterCommit, EventConsumer, EventHandler
from cloudmall.services.event_groups import (
    ORDERS_GROUP,
    ORDERS_TYPES,
    PRODUCTS_GROUP,
    PRODUCTS_TYPES,
    cancel_on_expiry,
    release_on_cancel,
)
from cloudmall.services.ports import ReservationRequest, UnitOfWork
from tests.unit.contexts import stock_desk
from tests.unit.fakes import FakeBroker, FakeStore
from tests.unit.test_order_saga import place, stock_moves

pytestmark = pytest.mark.anyio

STREAM = "events"


def group(
    store: FakeStore, broker: FakeBroker, name: str, types: frozenset[str], handler: EventHandler
) -> EventConsumer:
    return EventConsumer(
        uow=store, broker=broker, stream=STREAM, group=name, member="m", handler=handler,
        types=types,
    )  # fmt: skip


async def test_order_cancelled_releases_its_reservation_once(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=2)
    await stock_desk(store, catalog_cache).reserve([ReservationRequest("a", {mug.id: 2})])
    cancelled = events.new_event(events.ORDER_CANCELLED, 7, {"order_id": 7, "reservation_id": "a"})
    paid = events.new_event(events.ORDER_PAID, 9, {"order_id": 9, "reservation_id": "a"})
    broker = FakeBroker()
    await broker.publish(STREAM, [cancelled, paid, cancelled])  # republished: a second copy
    handler = release_on_cancel(catalog_cache)
    consumer = group(store, broker, PRODUCTS_GROUP, PRODUCTS_TYPES, handler)
    result = await consumer.run_once()
    assert (result.handled, result.skipped) == (1, 2)
    assert store.data.reservations["a"].status is ReservationStatus.RELEASED
    assert store.data.products[mug.id].stock_quantity == 2
    assert stock_moves(store, "cancel") == [2]
    assert store.data.inbox == {(PRODUCTS_GROUP, cancelled.id)}  # order.paid: no row
    assert await consumer.run_once() == type(result)()  # every message acknowledged


async def test_reservation_expired_cancels_the_pending_order_once(
    store: FakeStore, catalog_cache: CatalogCache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="10.00")
    order = await place(store, catalog_cache, metrics, mug.id)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await stock.expire_due(store, cache=catalog_cache, now=later) == 1
    broker = FakeBroker()
    outbox = [entry.event for entry in store.data.outbox]
    await broker.publish(STREAM, outbox + outbox)
    consumer = group(store, broker, ORDERS_GROUP, ORDERS_TYPES, cancel_on_expiry)
    result = await consumer.run_once()
    assert result.handled == 1
    assert store.data.orders[order.id].status is OrderStatus.CANCELLED
    cancelled = [e.event for e in store.data.outbox if e.event.type == "order.cancelled"]
    assert [e.payload["order_id"] for e in cancelled] == [order.id]
    assert store.data.products[mug.id].stock_quantity == 5  # the sweep gave the units back


async def test_what_a_handler_leaves_runs_after_the_commit_and_its_failure_is_only_logged(
    store: FakeStore,
) -> None:
    seen: list[bool] = []

    async def handler(event: Event, tx: UnitOfWork) -> AfterCommit:
        async def after() -> None:
            seen.append((PRODUCTS_GROUP, event.id) in store.data.inbox)  # committed by now
            raise ValueError("the cache is away")

        return after

    broker = FakeBroker()
    await broker.publish(STREAM, [events.new_event(events.ORDER_CANCELLED, 1, {"order_id": 1})])
    consumer = group(store, broker, PRODUCTS_GROUP, PRODUCTS_TYPES, handler)
    assert (await consumer.run_once()).handled == 1
    assert seen == [True]
    assert (await consumer.run_once()).handled == 0  # acknowledged all the same
