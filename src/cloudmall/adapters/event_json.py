"""An event's envelope as JSON text: what the DynamoDB outbox stores, what a broker message
carries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cloudmall.domain.events import Event


def encode(event: Event) -> str:
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "occurred_at": event.occurred_at.isoformat(),
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            "payload": event.payload,
            "request_id": event.request_id,
            "traceparent": event.traceparent,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def decode(text: str) -> Event:
    """The event in an envelope; ValueError, TypeError or KeyError for text that is not one."""
    data: dict[str, Any] = json.loads(text)
    return Event(
        id=str(data["id"]),
        type=str(data["type"]),
        version=int(data["version"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        aggregate_type=str(data["aggregate_type"]),
        aggregate_id=str(data["aggregate_id"]),
        payload=dict(data["payload"]),
        request_id=data.get("request_id"),
        traceparent=data.get("traceparent"),  # (absent from envelopes written before it was)
    )


def decode_or_none(text: str | None) -> Event | None:
    """The event in an envelope, or None for text that is not one (a message to park)."""
    try:
        return decode(text or "")
    except (ValueError, TypeError, KeyError):
        return None
