"""The broker and the inbox on real engines: Redis Streams as the Broker port says (groups from
the stream's start, take-over after the visibility timeout with delivery counts, dead letters
parked and acknowledged together), and the SQL inbox on every backend (recorded with the
transaction, once per consumer, the second of two racing transactions told it was handled)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cloudmall.adapters.broker.redis_streams import RedisStreamsBroker
from cloudmall.adapters.db.snapshot import backup_database
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services.ports import BrokerUnavailable, Delivery, dead_letter_stream
from tests.conftest import shop_env
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, REDIS_URL, cli, redis_url

pytestmark = pytest.mark.anyio

STREAM = "events"


@pytest.fixture
async def broker() -> AsyncIterator[RedisStreamsBroker]:
    url = redis_url()
    broker = RedisStreamsBroker(url, max_len=1_000)
    try:
        yield broker
    finally:
        await broker.aclose()
        client = Redis.from_url(REDIS_URL)
        async for key in client.scan_iter(f"{url.split('prefix=')[1]}*"):
            await client.delete(key)
        await client.aclose()


def made(count: int) -> list[Event]:
    return [
        events.new_event(
            events.ORDER_PLACED,
            i,
            {"order_id": i, "amount": "1.00"},
            request_id="r",
            traceparent=f"00-{i + 1:032x}-{i + 1:016x}-01",
        )
        for i in range(count)
    ]


async def receive(
    broker: RedisStreamsBroker, member: str, *, visibility: float = 30.0, group: str = "g"
) -> list[Delivery]:
    return await broker.receive(
        STREAM, group, member, count=100, block_seconds=0.05, visibility_seconds=visibility
    )


async def test_every_group_gets_every_event_whole_from_the_start_of_the_stream(
    broker: RedisStreamsBroker,
) -> None:
    sent = made(3)
    await broker.publish(STREAM, sent)  # before either group exists
    for group in ("one", "two"):
        got = await receive(broker, "m", group=group)
        assert [d.event for d in got] == sent  # the whole envelope, in order (trace context too)
        assert {d.deliveries for d in got} == {1}
        await broker.ack(STREAM, group, [d.message_id for d in got])
        assert await receive(broker, "m", group=group) == []


async def test_an_unacknowledged_message_is_taken_over_after_the_visibility_timeout(
    broker: RedisStreamsBroker,
) -> None:
    await broker.publish(STREAM, made(2))
    first = await receive(broker, "dead")
    assert len(first) == 2
    await broker.ack(STREAM, "g", [first[1].message_id])
    assert await receive(broker, "alive", visibility=5.0) == []  # not yet
    await asyncio.sleep(0.3)
    again = await receive(broker, "alive", visibility=0.2)
    assert [(d.message_id, d.event, d.deliveries) for d in again] == [
        (first[0].message_id, first[0].event, 2)
    ]
    await asyncio.sleep(0.3)
    assert [d.deliveries for d in await receive(broker, "alive", visibility=0.2)] == [3]


async def test_a_parked_message_is_in_the_dead_letters_and_no_longer_pending(
    broker: RedisStreamsBroker,
) -> None:
    await broker.publish(STREAM, made(1))
    (delivery,) = await receive(broker, "m")
    await broker.dead_letter(STREAM, "g", delivery, "ValueError: no")
    assert await broker.read_dead_letters(STREAM, 10) == [("g", "ValueError: no", delivery.event)]
    await asyncio.sleep(0.1)
    assert await receive(broker, "m", visibility=0.05) == []


async def test_a_message_that_is_not_an_envelope_is_delivered_as_none(
    broker: RedisStreamsBroker,
) -> None:
    prefix = broker._prefix  # written as a foreign producer would
    client = Redis.from_url(REDIS_URL)
    await client.xadd(prefix + STREAM, {"envelope": "{not json"})
    await client.aclose()
    (delivery,) = await receive(broker, "m")
    assert delivery.event is None
    await broker.dead_letter(STREAM, "g", delivery, "not an event envelope")
    assert await broker.read_dead_letters(STREAM, 10) == [("g", "not an event envelope", None)]
    assert dead_letter_stream(STREAM) == "events:dead"


async def test_a_message_carries_its_events_trace_context_as_a_field(
    broker: RedisStreamsBroker,
) -> None:
    untraced = events.new_event(events.ORDER_PAID, 1, {})
    await broker.publish(STREAM, [*made(1), untraced])
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    messages = await client.xrange(broker._prefix + STREAM)
    await client.aclose()
    assert [fields.get("traceparent") for _, fields in messages] == [made(1)[0].traceparent, None]
    assert [d.event.traceparent for d in await receive(broker, "m") if d.event] == [
        made(1)[0].traceparent,
        None,
    ]


async def test_a_stream_keeps_about_its_maximum_length(broker: RedisStreamsBroker) -> None:
    for _ in range(5):
        await broker.publish(STREAM, made(1_000))
    client = Redis.from_url(REDIS_URL)
    length = await client.xlen(broker._prefix + STREAM)
    await client.aclose()
    assert 1_000 <= length < 2_000  # MAXLEN ~ trims whole nodes: about, never fewer


async def test_an_unreachable_broker_says_so() -> None:
    broker = RedisStreamsBroker("redis://127.0.0.1:1/0", timeout_seconds=0.5)
    try:
        with pytest.raises(BrokerUnavailable):
            await broker.publish(STREAM, made(1))
        with pytest.raises(BrokerUnavailable):
            await receive(broker, "m")
    finally:
        await broker.aclose()


# --- the inbox ----------------------------------------------------------------------------------


async def test_the_inbox_records_an_event_once_per_consumer_with_its_transaction(
    sql_uow: SqlUnitOfWorkFactory,
) -> None:
    async with sql_uow(write=True) as tx:
        assert await tx.inbox.first_time("orders", "e-1")
        # rolled back: not recorded
    async with sql_uow(write=True) as tx:
        assert await tx.inbox.first_time("orders", "e-1")
        assert not await tx.inbox.first_time("orders", "e-1")
        assert await tx.inbox.first_time("payments", "e-1")  # another consumer's own record
        await tx.commit()
    async with sql_uow(write=True) as tx:
        assert not await tx.inbox.first_time("orders", "e-1")
        assert not await tx.inbox.first_time("payments", "e-1")
        assert await tx.inbox.first_time("orders", "e-2")


async def test_of_two_transactions_recording_one_event_the_second_learns_it_was_handled(
    sql_uow: SqlUnitOfWorkFactory,
) -> None:
    async with sql_uow(write=True) as first:
        assert await first.inbox.first_time("orders", "e-1")

        async def second() -> bool:
            async with sql_uow(write=True) as tx:
                recorded = await tx.inbox.first_time("orders", "e-1")
                await tx.commit()
                return recorded

        racing = asyncio.create_task(second())
        await asyncio.sleep(0.3)  # the second waits on the first (its row, or SQLite's lock)
        assert not racing.done()
        await first.commit()
    assert await racing is False


async def test_backups_carry_the_inbox(database_url: str) -> None:
    """A restore without it would hand consumers their handled events as new ones."""
    database = backup_database(database_url)
    try:
        spec = next(table for table in database.tables() if table.name == "inbox_events")
        assert spec.columns == ("id", "consumer", "event_id", "handled_at")
    finally:
        await database.engine.dispose()


def test_the_relay_command_says_in_one_line_what_is_missing(tmp_path: Path) -> None:
    env = shop_env(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)
    assert cli(env, tmp_path, "migrate").returncode == 0
    unconfigured = cli(env, tmp_path, "events", "relay")
    assert unconfigured.returncode == 1
    assert unconfigured.stderr.strip() == (
        "error: no relay: add `broker` to CLOUDMALL_OUTBOX_CONSUMERS and set CLOUDMALL_BROKER_URL"
    )
    env["CLOUDMALL_OUTBOX_CONSUMERS"] = "broker"
    env["CLOUDMALL_BROKER_URL"] = "redis://127.0.0.1:1/0"
    made = cli(env, tmp_path, "admin", "create", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    assert made.returncode == 0, made.stderr  # an event waiting for the relay
    away = cli(env, tmp_path, "events", "relay")
    assert away.returncode == 1
    assert away.stderr.startswith("error: redis:") and len(away.stderr.strip().splitlines()) == 1
