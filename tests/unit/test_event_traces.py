"""An event travels in the trace of the work that recorded it: the outbox stamps it, every
reader's handling continues it (services.trace_context)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind as OtelSpanKind

from cloudmall.adapters.tracing import ShopTracer
from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services import accounts
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.event_consumer import EventConsumer
from cloudmall.services.mail import MailReader
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.outbox_readers import HandlingReader
from cloudmall.services.ports import NO_TRACER, SpanKind, UnitOfWork
from cloudmall.services.relay import Relay
from cloudmall.services.trace_context import handling, stamped
from tests.unit.contexts import stock_desk
from tests.unit.fakes import (
    FakeBroker,
    FakeHasher,
    FakeMailSender,
    FakeMetrics,
    FakeResetTokens,
    FakeStore,
    RecordingTracer,
    customer,
)

pytestmark = pytest.mark.anyio

STREAM = "events"
#: The outbox's readers here: an event stays until both have finished it.
READERS = ("test", "broker")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def otel(exporter: InMemorySpanExporter) -> Iterator[ShopTracer]:
    """The shop's tracer on a provider of the test's own (not the process's global one)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield ShopTracer(provider.get_tracer("test"))
    provider.shutdown()


def desk(store: FakeStore, cache: CatalogCache, tracer: object) -> OrderDesk:
    return OrderDesk(
        uow=store,
        stock=stock_desk(store, cache),
        metrics=FakeMetrics(),
        limits=OrderLimits(),
        tracer=tracer,  # type: ignore[arg-type]
    )


def spans_named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def reader_of(store: FakeStore, tracer: object, handled: list[Event]) -> HandlingReader:
    async def handle(event: Event) -> None:
        handled.append(event)

    return HandlingReader("test", handle, store, 10, READERS, tracer)  # type: ignore[arg-type]


def test_an_event_keeps_its_own_trace_context_and_gets_the_writers_otherwise() -> None:
    own = replace(
        events.password_reset_requested(1), traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    )
    bare = events.password_reset_requested(2)
    assert [e.traceparent for e in stamped([own, bare], "writer")] == [own.traceparent, "writer"]
    assert stamped([bare], None) == [bare]  # tracing off: nothing recorded


async def test_the_outbox_records_no_trace_with_tracing_off(
    store, catalog_cache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    await desk(store, catalog_cache, NO_TRACER).place(
        principal=customer(), items=[(mug.id, 1)], client_total=None, idempotency_key=None
    )
    assert store.data.outbox
    assert {entry.event.traceparent for entry in store.data.outbox} == {None}


async def test_each_grouped_order_is_recorded_in_its_own_requests_trace(
    store, catalog_cache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=20, price="10.00")
    tracer = RecordingTracer()
    store.tracer = tracer
    orders = desk(store, catalog_cache, tracer)

    async def buy(user: int) -> None:
        tracer.request.set(f"request-{user}")  # this task's own context
        await orders.place(
            principal=customer(1000 + user),
            items=[(mug.id, 1)],
            client_total=None,
            idempotency_key=None,
        )

    await asyncio.gather(*(buy(u) for u in range(3)))
    assert tracer.spans[0][:1] == ("order group",)  # one transaction for the three
    placed = [e.event for e in store.data.outbox if e.event.type == events.ORDER_PLACED.name]
    assert sorted((e.payload["user_id"], e.traceparent) for e in placed) == [
        (1000 + u, f"request-{u}") for u in range(3)
    ]


async def test_a_readers_handling_is_a_span_under_the_events_trace(store) -> None:  # type: ignore[no-untyped-def]
    tracer = RecordingTracer()
    event = replace(events.password_reset_requested(7, request_id="req-7"), traceparent="producer")
    async with store(write=True) as tx:
        await tx.outbox.add([event])
        await tx.commit()
    handled: list[Event] = []
    await reader_of(store, tracer, handled).run_once()
    assert handled == [event]
    assert tracer.spans == [
        (
            "handle user.password_reset_requested",
            {"messaging.message.id": event.id, "cloudmall.request_id": "req-7"},
            "producer",
            ["producer"],
        )
    ]
    assert tracer.kinds == [SpanKind.CONSUMER]  # a message's receiver (messaging conventions)


async def test_a_consumer_groups_handling_continues_the_events_trace(store) -> None:  # type: ignore[no-untyped-def]
    tracer = RecordingTracer()
    broker = FakeBroker()
    event = replace(events.password_reset_requested(7), traceparent="producer")
    await broker.publish(STREAM, [event])
    open_while_handling: list[list[str]] = []

    async def handler(event: Event, tx: UnitOfWork) -> None:
        open_while_handling.append(list(tracer.open))

    consumer = EventConsumer(
        uow=store, broker=broker, stream=STREAM, group="g", member="m", handler=handler,
        tracer=tracer,
    )  # fmt: skip
    assert (await consumer.run_once()).handled == 1
    assert open_while_handling == [["handle user.password_reset_requested"]]
    assert [(name, parent) for name, _, parent, _ in tracer.spans] == [
        ("handle user.password_reset_requested", "producer")
    ]
    assert tracer.kinds == [SpanKind.CONSUMER]


async def test_a_mail_is_sent_in_the_trace_of_its_event(store) -> None:  # type: ignore[no-untyped-def]
    tracer = RecordingTracer()
    user = await accounts.sign_up(
        uow=store, hasher=FakeHasher(), email="kim@example.com", password="a long passphrase",
        name="Kim",
    )  # fmt: skip
    event = replace(events.password_reset_requested(user.id), traceparent="producer")
    async with store(write=True) as tx:
        await tx.outbox.add([event])
        await tx.commit()
    sender = FakeMailSender()
    mail = MailReader(
        uow=store,
        sender=sender,
        reset_tokens=FakeResetTokens(),
        texts=MailTexts(public_url="https://shop.example", currency="EUR"),
        reset_valid_minutes=30,
        batch_size=10,
        consumers=("mail",),
        tracer=tracer,
    )
    assert (await mail.run_once()).sent == 2
    assert [(name, parent) for name, _, parent, _ in tracer.spans] == [
        ("handle user.signed_up", None),  # (signed up outside any trace)
        ("handle user.password_reset_requested", "producer"),
    ]
    assert tracer.kinds == [SpanKind.CONSUMER, SpanKind.CONSUMER]


async def test_an_order_is_followed_from_its_request_to_each_handling_of_its_events(
    store, catalog_cache, add_product, otel, exporter
) -> None:  # type: ignore[no-untyped-def]
    """OpenTelemetry's own SDK: the order placed in a request's trace is handled (by an outbox
    reader, and by a consumer group behind the relay and the broker) in that same trace."""
    mug = await add_product(stock=5)
    store.tracer = otel
    with otel.span("POST /api/orders"):
        await desk(store, catalog_cache, otel).place(
            principal=customer(), items=[(mug.id, 1)], client_total=None, idempotency_key=None
        )
    (request,) = spans_named(exporter, "POST /api/orders")
    # The order's event names the request's span; its units' stock change, the group's.
    traceparents = {e.event.type: e.event.traceparent for e in store.data.outbox}
    assert traceparents[events.ORDER_PLACED.name].split("-")[1:3] == [  # (then the flags)
        f"{request.context.trace_id:032x}",
        f"{request.context.span_id:016x}",
    ]
    stock_changed = traceparents[events.PRODUCT_STOCK_CHANGED.name]
    assert stock_changed.split("-")[1] == f"{request.context.trace_id:032x}"
    assert traceparents[events.PRODUCT_CREATED.name] is None  # (added before any trace)
    handled: list[Event] = []
    await reader_of(store, otel, handled).run_once()
    broker = FakeBroker()
    await Relay(store, broker, STREAM, 10, READERS).run_once()

    async def nothing(event: Event, tx: UnitOfWork) -> None:
        return None

    consumer = EventConsumer(
        uow=store, broker=broker, stream=STREAM, group="g", member="m", handler=nothing,
        tracer=otel,
    )  # fmt: skip
    await consumer.run_once()

    placed = spans_named(exporter, "handle order.placed")
    assert len(placed) == 2  # the reader's, the consumer group's
    for span in placed:
        assert span.context.trace_id == request.context.trace_id
        assert span.parent is not None and span.parent.span_id == request.context.span_id
        assert [link.context.span_id for link in span.links] == [request.context.span_id]
        assert span.kind is OtelSpanKind.CONSUMER
    assert request.kind is OtelSpanKind.INTERNAL  # (the shop's own spans stay internal)


async def test_an_event_without_a_trace_context_is_handled_in_a_trace_of_its_own(
    store, otel, exporter
) -> None:  # type: ignore[no-untyped-def]
    for traceparent in (None, "not a traceparent"):
        with handling(otel, replace(events.password_reset_requested(1), traceparent=traceparent)):
            pass
    spans = spans_named(exporter, "handle user.password_reset_requested")
    assert [(span.parent, list(span.links)) for span in spans] == [(None, []), (None, [])]
    assert spans[0].context.trace_id != spans[1].context.trace_id
