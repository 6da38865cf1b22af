"""The relay and the consumer runner against fakes: every outbox event reaches the broker, a
crash between publish and finish publishes the batch again, and consumers handle each event
once (the inbox), leave a failure pending, and park it after the last delivery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services.event_consumer import EventConsumer
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.outbox_readers import BackgroundLoop
from cloudmall.services.ports import BrokerUnavailable, UnitOfWork
from cloudmall.services.relay import BROKER_CONSUMER, Relay
from tests.unit.fakes import FakeBroker, FakeStore

pytestmark = pytest.mark.anyio

STREAM = "events"


async def add_events(store: FakeStore, count: int) -> list[str]:
    made = [events.new_event(events.ORDER_PAID, i, {"order_id": i}) for i in range(count)]
    async with store(write=True) as tx:
        await tx.outbox.add(made)
        await tx.commit()
    return [event.id for event in made]


def relay(store: FakeStore, broker: FakeBroker) -> Relay:
    return Relay(uow=store, broker=broker, stream=STREAM, batch_size=10, consumers=("broker",))


def published(broker: FakeBroker) -> list[str]:
    return [event.id for _, event in broker.streams.get(STREAM, []) if event is not None]


class Handled:
    """A handler that counts per event id, failing for the ids in `failing`."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.failing: set[str] = set()

    async def __call__(self, event: Event, tx: UnitOfWork) -> None:
        if event.id in self.failing:
            raise ValueError("cannot handle this one")
        self.counts[event.id] = self.counts.get(event.id, 0) + 1


def consumer(
    store: FakeStore, broker: FakeBroker, handler: Handled, member: str = "a"
) -> EventConsumer:
    return EventConsumer(
        uow=store,
        broker=broker,
        stream=STREAM,
        group="test",
        member=member,
        handler=handler,
        max_deliveries=3,
        visibility_seconds=30,
        batch_size=10,
    )


async def test_the_relay_publishes_every_event_in_order_and_empties_the_outbox(
    store: FakeStore,
) -> None:
    ids = await add_events(store, 25)
    broker = FakeBroker()
    result = await relay(store, broker).run_once()
    assert (result.events, result.batches, result.purged) == (25, 3, 25)
    assert published(broker) == ids
    assert store.data.outbox == []
    assert (await relay(store, broker).run_once()).events == 0


async def test_a_relay_that_fails_after_publishing_publishes_the_same_batch_again(
    store: FakeStore,
) -> None:
    ids = await add_events(store, 5)
    broker = FakeBroker()
    publish = broker.publish

    async def publish_then_die(stream: str, sent: Sequence[Event]) -> None:
        await publish(stream, sent)
        raise BrokerUnavailable("died before the batch was finished")

    broker.publish = publish_then_die  # type: ignore[method-assign]
    with pytest.raises(BrokerUnavailable):
        await relay(store, broker).run_once()
    del broker.publish
    async with store() as tx:
        assert await tx.outbox.backlog(BROKER_CONSUMER) == 5
    await relay(store, broker).run_once()
    assert published(broker) == ids + ids  # the same events, published twice
    handler = Handled()
    result = await consumer(store, broker, handler).run_once()
    assert (result.handled, result.skipped) == (5, 5)
    assert handler.counts == dict.fromkeys(ids, 1)


async def test_a_broker_that_is_down_leaves_the_events_in_the_outbox(store: FakeStore) -> None:
    await add_events(store, 3)
    broker = FakeBroker()
    broker.down = True
    with pytest.raises(BrokerUnavailable):
        await relay(store, broker).run_once()
    broker.down = False
    assert (await relay(store, broker).run_once()).events == 3


async def test_an_event_handled_and_committed_but_not_acked_is_skipped_when_it_comes_again(
    store: FakeStore,
) -> None:
    ids = await add_events(store, 2)
    broker = FakeBroker()
    await relay(store, broker).run_once()
    handler = Handled()
    dying = consumer(store, broker, handler)

    async def lost_ack(*_: object) -> None:  # the member died after the commit
        raise BrokerUnavailable("gone")

    broker.ack = lost_ack  # type: ignore[method-assign]
    with pytest.raises(BrokerUnavailable):
        await dying.run_once()
    del broker.ack
    broker.advance(31)
    result = await consumer(store, broker, handler, member="b").run_once()
    assert (result.handled, result.skipped) == (1, 1)  # the first again: skipped
    assert handler.counts == dict.fromkeys(ids, 1)
    assert broker.pending[(STREAM, "test")] == {}


async def test_a_failing_event_is_delivered_again_then_parked_with_its_error(
    store: FakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await add_events(store, 2)
    broker = FakeBroker()
    await relay(store, broker).run_once()
    handler = Handled()
    handler.failing = {ids[0]}
    member = consumer(store, broker, handler)
    first = await member.run_once()
    assert (first.handled, first.failed) == (1, 1)
    assert (await member.run_once()).failed == 0  # not visible again before the timeout
    broker.advance(31)
    assert (await member.run_once()).failed == 1  # second delivery
    broker.advance(31)
    with caplog.at_level(logging.ERROR):
        third = await member.run_once()
    assert third.parked == 1
    assert broker.dead[STREAM] == [
        ("test", "ValueError: cannot handle this one", broker.streams[STREAM][0][1])
    ]
    assert ids[0] in caplog.text and "order_id" not in caplog.text  # named, never its payload
    assert broker.pending[(STREAM, "test")] == {}
    broker.advance(31)
    assert (await member.run_once()).failed == 0
    assert ids[0] not in handler.counts


async def test_a_failed_handler_leaves_nothing_in_the_inbox(store: FakeStore) -> None:
    ids = await add_events(store, 1)
    broker = FakeBroker()
    await relay(store, broker).run_once()
    handler = Handled()
    handler.failing = {ids[0]}
    await consumer(store, broker, handler).run_once()
    assert store.data.inbox == set()
    handler.failing = set()
    broker.advance(31)
    assert (await consumer(store, broker, handler).run_once()).handled == 1
    assert store.data.inbox == {("test", ids[0])}


async def test_a_message_that_is_no_event_is_parked_at_once(store: FakeStore) -> None:
    broker = FakeBroker()
    broker.append(STREAM, None)
    result = await consumer(store, broker, Handled()).run_once()
    assert result.parked == 1
    assert broker.dead[STREAM] == [("test", "not an event envelope", None)]


async def test_a_message_delivered_past_the_limit_is_parked_without_running_the_handler(
    store: FakeStore,
) -> None:
    """Members that died handling it each time (no error to see): parked after the limit."""
    ids = await add_events(store, 1)
    broker = FakeBroker()
    await relay(store, broker).run_once()
    for _ in range(3):
        await broker.receive(STREAM, "test", "x", count=1, block_seconds=0, visibility_seconds=0)
    broker.advance(31)
    handler = Handled()
    result = await consumer(store, broker, handler).run_once()
    assert result.parked == 1
    assert broker.dead[STREAM][0][1] == "delivered 4 times"
    assert ids[0] not in handler.counts


async def test_the_relay_loop_publishes_in_the_background_until_stopped(store: FakeStore) -> None:
    broker = FakeBroker()
    loop = BackgroundLoop(relay(store, broker), backoff=Backoff(interval=0.01, max_delay=0.05))
    loop.start()
    try:
        ids = await add_events(store, 3)
        for _ in range(200):
            if published(broker) == ids:
                break
            await asyncio.sleep(0.01)
        assert published(broker) == ids
    finally:
        await loop.stop()
    await add_events(store, 1)
    await asyncio.sleep(0.05)
    assert len(published(broker)) == 3  # stopped: nothing more


async def test_the_relay_keeps_following_through_a_broker_outage(store: FakeStore) -> None:
    ids = await add_events(store, 2)
    broker = FakeBroker()
    broker.down = True
    stop = asyncio.Event()
    following = asyncio.create_task(
        relay(store, broker).follow(backoff=Backoff(interval=0.01, max_delay=0.02), stop=stop)
    )
    await asyncio.sleep(0.05)
    broker.down = False
    for _ in range(200):
        if published(broker) == ids:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await following
    assert published(broker) == ids


async def test_a_following_consumer_handles_messages_as_they_come(store: FakeStore) -> None:
    broker = FakeBroker()
    handler = Handled()
    stop = asyncio.Event()
    following = asyncio.create_task(
        consumer(store, broker, handler).follow(stop=stop, block_seconds=0.01)
    )
    ids = await add_events(store, 3)
    await relay(store, broker).run_once()
    for _ in range(200):
        if len(handler.counts) == 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await following
    assert handler.counts == dict.fromkeys(ids, 1)
