"""The trace an event travels in: recorded with it by the outbox, continued by its readers.

Every event the shop records goes through an `Outbox.add`; the outbox adapters stamp each event
that has no `traceparent` of its own with the writer's (`Tracer.traceparent`: the span the work
is in, None with tracing off). An order placed in a group transaction carries its own request's,
taken when it was asked (`OrderDesk`), not the group's.

A reader's handling of one event (a broker consumer group's, the outbox's `stock`, `orders` and
`mail` readers') is a CONSUMER span (the messaging conventions' kind for a message's receiver)
`handle <type>` whose parent is the event's `traceparent`, so an order
can be followed in one trace from its request through every service's handling of its events.
OpenTelemetry's messaging conventions ask a consumer's "process" span to *link* to the message's
creation context, because a span that processes a batch has several; a span that processes one
message may also take it as its parent. Each handling here is of one message, in a transaction
of its own, so it is the producer's child (one trace to follow), and links to it as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace

from cloudmall.domain.events import Event
from cloudmall.services.ports import SpanKind, SpanValue, Tracer

#: The span attribute that holds the X-Request-Id of the request a span serves.
REQUEST_ID = "cloudmall.request_id"
#: The messaging conventions' attribute for a message's id (here the event's).
MESSAGE_ID = "messaging.message.id"


def stamped(events: Sequence[Event], traceparent: str | None) -> list[Event]:
    """The events, each with its own `traceparent`, or else the writer's."""
    if traceparent is None:
        return list(events)
    return [e if e.traceparent else replace(e, traceparent=traceparent) for e in events]


def trace_id(traceparent: str | None) -> str | None:
    """The trace id (32 hex digits) a W3C `traceparent` names, or None."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def handling(tracer: Tracer, event: Event) -> AbstractContextManager[None]:
    """The span of one reader's handling of `event`, in the trace of the work that recorded it."""
    producer = tracer.continued(event.traceparent)
    attributes: dict[str, SpanValue] = {MESSAGE_ID: event.id}
    if event.request_id:
        attributes[REQUEST_ID] = event.request_id
    return tracer.span(
        f"handle {event.type}",
        attributes=attributes,
        parent=producer,
        links=[producer],
        kind=SpanKind.CONSUMER,
    )
