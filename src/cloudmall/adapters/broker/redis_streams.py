"""The broker on Redis Streams (ElastiCache for Redis/Valkey on AWS; `rediss://` for TLS).

One stream per topic; a consumer group per consuming service; XADD with approximate MAXLEN
trimming, XREADGROUP for new messages, XACK when done, XAUTOCLAIM to take over what a dead (or
failing) member left pending past the visibility timeout, and XPENDING for delivery counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis import asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from cloudmall.adapters.event_json import decode_or_none, encode
from cloudmall.domain.events import Event
from cloudmall.services.ports import BrokerUnavailable, Delivery, dead_letter_stream

# Every way a call can fail: redis-py lets some through that are not RedisError.
_FAILURES = (RedisError, OSError, RuntimeError)
#: The socket waits this much longer than the longest blocking read it serves.
_READ_MARGIN_SECONDS = 5.0


def _fields(event: Event) -> dict[Any, Any]:
    """A message's fields: the envelope, and as headers its id, its type and (when it has one)
    its W3C `traceparent`, for a reader of the stream that does not parse envelopes."""
    fields: dict[Any, Any] = {"event_id": event.id, "type": event.type, "envelope": encode(event)}
    if event.traceparent:
        fields["traceparent"] = event.traceparent
    return fields


class RedisStreamsBroker:
    def __init__(
        self,
        url: str,
        *,
        max_len: int = 1_000_000,
        timeout_seconds: float = 5.0,
        max_block_seconds: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        # Stream names start with it: several shops (or test runs) can share one Redis.
        self._prefix = query.pop("prefix", [""])[0]
        self._client = aioredis.Redis.from_url(
            urlunsplit(parts._replace(query="")),
            decode_responses=True,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=max_block_seconds + _READ_MARGIN_SECONDS,
            health_check_interval=30,
        )
        self._max_len = max_len
        self._max_block = max_block_seconds
        self._groups: set[tuple[str, str]] = set()  # known to exist

    async def publish(self, stream: str, events: Sequence[Event]) -> None:
        if not events:
            return
        key = self._prefix + stream
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.xadd(
                        key,
                        _fields(event),
                        maxlen=self._max_len,
                        approximate=True,
                    )
                await pipe.execute()
        except _FAILURES as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc

    async def receive(
        self,
        stream: str,
        group: str,
        member: str,
        *,
        count: int,
        block_seconds: float,
        visibility_seconds: float,
    ) -> list[Delivery]:
        key = self._prefix + stream
        try:
            await self._ensure_group(key, group)
            taken = await self._take_over(key, group, member, count, visibility_seconds)
            if taken:
                return taken
            block = max(1, int(min(block_seconds, self._max_block) * 1000))
            # redis-py's annotations cover every protocol and decoding; these are RESP2's, decoded.
            answer: Any = await self._client.xreadgroup(
                group, member, {key: ">"}, count=count, block=block
            )
        except _FAILURES as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc
        return [
            Delivery(message_id, decode_or_none(fields.get("envelope")), 1)
            for _, messages in answer or []
            for message_id, fields in messages
        ]

    async def _ensure_group(self, key: str, group: str) -> None:
        if (key, group) in self._groups:
            return
        try:
            # From the stream's start: a group made after the first events still gets them.
            await self._client.xgroup_create(key, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((key, group))

    async def _take_over(
        self, key: str, group: str, member: str, count: int, visibility_seconds: float
    ) -> list[Delivery]:
        """Messages pending longer than the visibility timeout, now `member`'s, with how many
        times each was delivered (XAUTOCLAIM counted this one)."""
        idle = int(visibility_seconds * 1000)
        _, claimed, *_ = await self._client.xautoclaim(
            key, group, member, min_idle_time=idle, start_id="0-0", count=count
        )
        # Trimmed away while pending (Redis 6 lists them with no fields; 7 drops them itself).
        claimed = [(message_id, fields) for message_id, fields in claimed if fields]
        if not claimed:
            return []
        pending = await self._client.xpending_range(
            key,
            group,
            min=claimed[0][0],
            max=claimed[-1][0],
            count=len(claimed) * 2,
            consumername=member,
        )
        counts = {entry["message_id"]: int(entry["times_delivered"]) for entry in pending}
        return [
            Delivery(message_id, decode_or_none(fields.get("envelope")), counts.get(message_id, 1))
            for message_id, fields in claimed
        ]

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> None:
        if not message_ids:
            return
        try:
            await self._client.xack(self._prefix + stream, group, *message_ids)
        except _FAILURES as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc

    async def dead_letter(self, stream: str, group: str, delivery: Delivery, error: str) -> None:
        key = self._prefix + stream
        fields: dict[Any, Any] = {
            "group": group,
            "message_id": delivery.message_id,
            "deliveries": delivery.deliveries,
            "error": error,
        }
        if delivery.event is not None:
            fields.update(
                event_id=delivery.event.id,
                type=delivery.event.type,
                envelope=encode(delivery.event),
            )
        try:
            async with self._client.pipeline(transaction=True) as pipe:  # MULTI … EXEC
                pipe.xadd(self._prefix + dead_letter_stream(stream), fields)
                pipe.xack(key, group, delivery.message_id)
                await pipe.execute()
        except _FAILURES as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc

    async def read_dead_letters(
        self, stream: str, count: int
    ) -> list[tuple[str, str, Event | None]]:
        try:
            parked: Any = await self._client.xrange(
                self._prefix + dead_letter_stream(stream), count=count
            )
        except _FAILURES as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc
        return [
            (fields["group"], fields["error"], decode_or_none(fields.get("envelope")))
            for _, fields in parked
        ]

    async def aclose(self) -> None:
        await self._client.aclose()
