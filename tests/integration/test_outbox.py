"""The transactional outbox on each real store (SQL backends, DynamoDB): events commit (or not)
with their change, and each consumer gets every event once, in stable batches, however often it
asks."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
from cloudmall.domain import events
from cloudmall.domain.orders import OrderStatus
from cloudmall.domain.users import Role
from cloudmall.services import accounts, cancellation, catalog, payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import (
    Principal,
    ProductChanges,
    RetryableConflict,
    Tracer,
    UnitOfWorkFactory,
)
from tests.integration.test_sql_adapters import order_desk
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeHasher, FakeMetrics, RecordingTracer

pytestmark = pytest.mark.anyio


def cache() -> CatalogCache:
    return CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())


async def all_events(uow: UnitOfWorkFactory, consumer: str = "probe") -> list[events.Event]:
    """Every event in the outbox, through a consumer that claims them all."""
    async with uow(write=True) as tx:
        batch = await tx.outbox.claim(consumer, 1_000_000)
        await tx.commit()
    return [entry.event for entry in batch.entries] if batch else []


async def test_events_round_trip_with_their_envelope(uow: UnitOfWorkFactory) -> None:
    event = events.new_event(
        events.ORDER_PLACED, 7, {"amount": "12.30", "lines": [{"q": 1}]}, request_id="req-1"
    )
    async with uow(write=True) as tx:
        await tx.outbox.add([event])
        await tx.commit()
    (back,) = await all_events(uow)
    assert back == event


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traced(uow: UnitOfWorkFactory, tracer: Tracer) -> UnitOfWorkFactory:
    """The same store's units of work, their outbox stamping events with `tracer`'s context."""
    if isinstance(uow, DynamoUnitOfWorkFactory):
        return DynamoUnitOfWorkFactory(uow.client, tracer=tracer)
    assert isinstance(uow, SqlUnitOfWorkFactory)
    return SqlUnitOfWorkFactory(uow.engine, tracer=tracer)


async def test_every_event_is_recorded_with_the_trace_context_it_was_written_in(
    uow: UnitOfWorkFactory,
) -> None:
    tracer = RecordingTracer()
    tracer.request.set(TRACEPARENT)  # the span the writing work is in
    own = replace(
        events.new_event(events.ORDER_PAID, 1, {}),
        traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-00",
    )
    written = [events.new_event(kind, 1, {}) for kind in events.EVENT_TYPES.values()]
    async with traced(uow, tracer)(write=True) as tx:
        await tx.outbox.add([*written, own])
        await tx.commit()
    back = await all_events(uow)
    assert back == [*(replace(e, traceparent=TRACEPARENT) for e in written), own]
    async with uow(write=True) as tx:  # tracing off: none
        await tx.outbox.add([events.new_event(events.ORDER_PAID, 2, {})])
        await tx.commit()
    assert [e.traceparent for e in await all_events(uow, "another")][-1] is None


async def test_events_are_rolled_back_with_their_change(uow: UnitOfWorkFactory) -> None:
    async with uow(write=True) as tx:
        await tx.outbox.add([events.new_event(events.ORDER_PAID, 1, {})])
        # no commit
    assert await all_events(uow) == []


async def test_a_batch_is_handed_out_again_until_finished(uow: UnitOfWorkFactory) -> None:
    async with uow(write=True) as tx:
        await tx.outbox.add([events.new_event(events.ORDER_PAID, i, {}) for i in range(5)])
        await tx.commit()
    async with uow(write=True) as tx:
        first = await tx.outbox.claim("lake", 3)
        await tx.commit()
    async with uow(write=True) as tx:
        again = await tx.outbox.claim("lake", 3)
        await tx.commit()
    assert first is not None and again == first and len(first.entries) == 3
    async with uow(write=True) as tx:
        await tx.outbox.finish("lake", first.name)
        rest = await tx.outbox.claim("lake", 3)
        await tx.commit()
    assert rest is not None and [e.event.aggregate_id for e in rest.entries] == ["3", "4"]
    assert rest.name != first.name
    async with uow(write=True) as tx:
        assert await tx.outbox.backlog("lake") == 2
        await tx.outbox.finish("lake", rest.name)
        assert await tx.outbox.claim("lake", 3) is None
        assert await tx.outbox.backlog("lake") == 0
        assert await tx.outbox.backlog("mail") == 5  # another consumer has its own progress
        assert await tx.outbox.purge(["lake", "mail"], 100) == 0  # mail has not finished them
        assert await tx.outbox.purge(["lake"], 100) == 5
        await tx.commit()
    async with uow() as tx:
        assert await tx.outbox.backlog("mail") == 0


async def test_two_runs_of_one_consumer_never_claim_the_same_events(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow(write=True) as tx:
        await tx.outbox.add([events.new_event(events.ORDER_PAID, i, {}) for i in range(20)])
        await tx.commit()

    async def run() -> list[str]:
        for _ in range(50):
            try:
                async with uow(write=True) as tx:
                    batch = await tx.outbox.claim("lake", 20)
                    if batch is None:
                        return []
                    await tx.outbox.finish("lake", batch.name)
                    await tx.commit()
                    return [e.event.id for e in batch.entries]
            except RetryableConflict:
                await asyncio.sleep(0.01)
        raise AssertionError("never got through")

    got = await asyncio.gather(run(), run())
    handled = got[0] + got[1]
    assert len(handled) == 20 and len(set(handled)) == 20


async def test_each_change_records_its_events(uow: UnitOfWorkFactory) -> None:
    user = await accounts.sign_up(
        uow=uow, hasher=FakeHasher(), email="e@x.co", password="a long pass phrase 1", name="E"
    )
    product = await catalog.create_product(
        uow=uow, cache=cache(), name="Lamp", price="10.00", stock_quantity=5
    )
    await catalog.update_product(
        uow=uow,
        cache=cache(),
        product_id=product.id,
        changes=ProductChanges(price=Decimal("12.50"), stock_quantity=9),
    )
    principal = Principal(user.id, Role.CUSTOMER)
    desk = order_desk(uow)
    placed = [
        await desk.place(
            principal=principal,
            items=[(product.id, 2)],
            client_total=None,
            idempotency_key=None,
            address=HOME,
        )
        for _ in range(2)
    ]
    gateway = FakeGateway()

    async def cancel(order_id: int) -> None:
        await cancellation.cancel_order(
            uow=uow,
            stock=stock_desk(uow, cache()),
            payment_desk=payment_desk(uow, gateway, FakeMetrics()),
            principal=principal,
            order_id=order_id,
        )

    await cancel(placed[0].order.id)
    paid = await payments.pay_order(
        uow=uow,
        order_book=order_book(uow),
        gateway=gateway,
        metrics=FakeMetrics(),
        principal=principal,
        order_id=placed[1].order.id,
        card_number="4242 4242 4242 4242",
        expiry="12/49",
        cvc="123",
        currency="USD",
        idempotency_key=None,
    )
    assert paid.order.status is OrderStatus.PAID
    await cancel(placed[1].order.id)  # paid, not shipped: refunded
    recorded = [
        (e.type, e.payload.get("delta"), e.payload.get("stock")) for e in await all_events(uow)
    ]
    assert recorded == [
        ("user.signed_up", None, None),
        ("product.created", None, 5),
        ("product.price_changed", None, None),
        ("product.stock_changed", 4, 9),
        # Each order's units are reserved (the products context), then the order recorded.
        ("product.stock_changed", -2, 7),
        ("order.placed", None, None),
        ("product.stock_changed", -2, 5),
        ("order.placed", None, None),
        # A cancel moves the order, then its units come back.
        ("order.cancelled", None, None),
        ("product.stock_changed", 2, 7),
        ("order.paid", None, None),
        ("payment.captured", None, None),
        # A paid order's charge is refunded (the payments context) before it is cancelled.
        ("payment.refunded", None, None),
        ("order.cancelled", None, None),
        ("product.stock_changed", 2, 9),
    ]
    reasons = [
        e.payload["reason"] for e in await all_events(uow, "reasons") if "reason" in e.payload
    ]
    assert reasons[-2:] == ["requested", "refund"]
