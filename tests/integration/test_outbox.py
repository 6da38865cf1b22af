"""The transactional outbox on each real store (SQL backends, DynamoDB): events commit (or not)
with their change, and each consumer gets every event once, in stable batches, however often it
asks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.outbox_repository import SqlOutbox
from cloudmall.adapters.db.tables import outbox_claims, outbox_events
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.dynamodb.outbox import DynamoOutbox
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
from cloudmall.domain import events
from cloudmall.domain.orders import OrderStatus
from cloudmall.domain.users import Role
from cloudmall.services import accounts, cancellation, catalog, payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import (
    OutboxBatch,
    Principal,
    ProductChanges,
    RetryableConflict,
    Tracer,
    UnitOfWorkFactory,
)
from tests.integration.test_sql_adapters import order_desk
from tests.support import scratch_database
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeHasher, FakeMetrics, RecordingTracer

pytestmark = pytest.mark.anyio


def cache() -> CatalogCache:
    return CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())


async def all_events(uow: UnitOfWorkFactory, consumer: str = "probe") -> list[events.Event]:
    """Every event in the outbox, through a consumer that claims them all."""
    async with uow(write=True) as tx:
        batch = await tx.outbox.claim(consumer, 1_000_000, gaps=True)
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
        first = await tx.outbox.claim("lake", 3, gaps=False)
        await tx.commit()
    async with uow(write=True) as tx:
        again = await tx.outbox.claim("lake", 3, gaps=False)
        await tx.commit()
    assert first is not None and again == first and len(first.entries) == 3
    async with uow(write=True) as tx:
        await tx.outbox.finish("lake", first.name)
        rest = await tx.outbox.claim("lake", 3, gaps=False)
        await tx.commit()
    assert rest is not None and [e.event.aggregate_id for e in rest.entries] == ["3", "4"]
    assert rest.name != first.name
    async with uow(write=True) as tx:
        assert await tx.outbox.backlog("lake") == 2
        await tx.outbox.finish("lake", rest.name)
        assert await tx.outbox.claim("lake", 3, gaps=False) is None
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
                    batch = await tx.outbox.claim("lake", 20, gaps=False)
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


async def commit_late(
    uow: UnitOfWorkFactory,
    event: events.Event,
    meanwhile: Callable[[], Awaitable[None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Record `event` in a transaction that takes its position, lets `meanwhile` (other
    transactions committing and being claimed) run, then commits: a gap."""
    if isinstance(uow, DynamoUnitOfWorkFactory):  # the position is taken just before commit
        write_record = DynamoOutbox._write_record
        waiting = [meanwhile]

        async def write_then_wait(self: DynamoOutbox) -> None:
            await write_record(self)
            while waiting:
                await waiting.pop()()

        monkeypatch.setattr(DynamoOutbox, "_write_record", write_then_wait)
        async with uow(write=True) as tx:
            await tx.outbox.add([event])
            await tx.commit()
        return
    assert isinstance(uow, SqlUnitOfWorkFactory)
    if uow.engine.dialect.name != "sqlite":  # the INSERT takes the id
        async with uow(write=True) as tx:
            await tx.outbox.add([event])
            await meanwhile()
            await tx.commit()
        return
    # SQLite's writers take turns (BEGIN IMMEDIATE), so ids follow commits and a gap cannot
    # happen; it is written as one would look: a lower id, committed later.
    await meanwhile()
    async with uow.engine.begin() as conn:
        await SqlOutbox(conn).add([event])
        await conn.execute(
            update(outbox_events).where(outbox_events.c.event_id == event.id).values(id=0)
        )


async def claim(
    uow: UnitOfWorkFactory, consumer: str, *, gaps: bool, finish: bool = True
) -> OutboxBatch | None:
    async with uow(write=True) as tx:
        batch = await tx.outbox.claim(consumer, 10, gaps=gaps)
        if batch is not None and finish:
            await tx.outbox.finish(consumer, batch.name)
        await tx.commit()
    return batch


def ids(batch: OutboxBatch | None) -> list[str]:
    return [e.event.id for e in batch.entries] if batch else []


async def test_an_event_that_commits_after_later_ones_were_claimed_is_claimed_once_by_a_sweep(
    uow: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = events.new_event(events.ORDER_PAID, 1, {})
    early = events.new_event(events.ORDER_PAID, 2, {})
    claimed: list[OutboxBatch | None] = []

    async def meanwhile() -> None:
        async with uow(write=True) as tx:
            await tx.outbox.add([early])
            await tx.commit()
        claimed.append(await claim(uow, "mail", gaps=False, finish=False))

    await commit_late(uow, late, meanwhile, monkeypatch)
    (first,) = claimed
    assert ids(first) == [early.id]
    again = await claim(uow, "mail", gaps=True)  # the unfinished batch first, even in a sweep
    assert again == first
    assert await claim(uow, "mail", gaps=False) is None  # above the claimed ones: nothing
    assert ids(await claim(uow, "mail", gaps=True)) == [late.id]
    assert await claim(uow, "mail", gaps=True) is None  # once
    assert await claim(uow, "mail", gaps=False) is None
    # Another consumer has its own claims: both are its, in the outbox's order.
    assert ids(await claim(uow, "lake", gaps=True)) == [late.id, early.id]


async def rows_read(conn: AsyncConnection) -> int:
    """The rows this MariaDB session's statements have read so far."""
    status = await conn.execute(text("SHOW SESSION STATUS LIKE 'Handler_read%'"))
    return sum(int(value) for _, value in status)


async def claim_reads(conn: AsyncConnection, *, gaps: bool) -> int:
    """The rows `mail`'s claim of the next 10 events reads looking for them (the claim rolled
    back), besides its look for an unfinished batch, which reads every claim of the consumer
    (`outbox_claims` has no index on `finished`; not changed here)."""
    unfinished = (
        select(outbox_claims.c.batch)
        .where(outbox_claims.c.consumer == "mail", outbox_claims.c.finished.is_(False))
        .order_by(outbox_claims.c.batch)
        .limit(1)
    )
    async with conn.begin() as tx:
        before = await rows_read(conn)
        await conn.execute(unfinished)
        between = await rows_read(conn)
        batch = await SqlOutbox(conn).claim("mail", 10, gaps=gaps)
        after = await rows_read(conn)
        await tx.rollback()
    assert batch is not None and len(batch.entries) == 10
    return (after - between) - (between - before)


def paid(count: int) -> list[events.Event]:
    return [events.new_event(events.ORDER_PAID, i, {}) for i in range(count)]


async def reads_at(backlog: int, tmp_path: Path) -> tuple[int, int]:
    """MariaDB: the rows `mail`'s next claim reads without and with a sweep, `backlog` events
    it claimed and finished kept in the outbox (the lake has not exported them yet)."""
    with scratch_database("mariadb", tmp_path, f"claims{backlog}") as url:
        await upgrade(url)
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                async with conn.begin():
                    outbox = SqlOutbox(conn)
                    await outbox.add(paid(backlog))
                    batch = await outbox.claim("mail", backlog, gaps=False)
                    assert batch is not None
                    await outbox.finish("mail", batch.name)
                    await outbox.add(paid(10))
                return await claim_reads(conn, gaps=False), await claim_reads(conn, gaps=True)
        finally:
            await engine.dispose()


async def test_on_mariadb_the_claim_above_the_claimed_events_reads_as_much_at_any_backlog(
    tmp_path: Path,
) -> None:
    """With 20,000 claimed events kept, the claim without a sweep reads what it read with 200
    (a probe of the claims' unique index, then the next ids); the sweep reads them all."""
    cheap_few, sweep_few = await reads_at(200, tmp_path)
    cheap_many, sweep_many = await reads_at(20_000, tmp_path)
    figures = (cheap_few, sweep_few, cheap_many, sweep_many)
    assert cheap_many - cheap_few < 20, figures
    assert sweep_many - sweep_few > 10_000, figures  # (what the cheap claim no longer reads)
