"""The cache on Redis (ElastiCache): shared by every web process, with a circuit breaker.

A cache that is down must cost little: after a failure the breaker stays open for a few seconds
and calls fail at once (the services then read the database) instead of each waiting for a socket
timeout; the first call after that tries Redis again, so service recovers without a restart.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from cloudmall.services.ports import CacheUnavailable

OPEN_SECONDS = 2.0
PUBSUB_IDLE_SECONDS = 1.0
# Every way a call can fail counts as "cache down". redis-py lets some through that are not
# RedisError: e.g. RuntimeError from uvloop when Redis reset a pooled connection under load.
_FAILURES = (RedisError, OSError, RuntimeError)


class RedisCache:
    def __init__(
        self, url: str, *, timeout_seconds: float = 0.5, max_connections: int = 10_000
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self._prefix = query.pop("prefix", [""])[0]
        plain_url = urlunsplit(parts._replace(query=""))
        self._client = aioredis.Redis.from_url(
            plain_url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            max_connections=max_connections,  # one per in-flight request; redis-py raises past it
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        self._open_until = 0.0

    def _guard(self) -> None:
        if time.monotonic() < self._open_until:
            raise CacheUnavailable("redis marked down; retrying shortly")

    async def _trip(self, exc: Exception) -> CacheUnavailable:
        self._open_until = time.monotonic() + OPEN_SECONDS
        # Drop the idle pooled connections: after a Redis restart or failover they are all dead,
        # and finding that out one failure (and one open breaker) at a time would take minutes.
        # Connections other requests are using are left to fail (or finish) on their own:
        # closing them under those requests would cancel their commands mid-flight.
        with contextlib.suppress(Exception):
            await self._client.connection_pool.disconnect(inuse_connections=False)
        return CacheUnavailable(f"redis unavailable: {exc}")

    async def get(self, key: str) -> bytes | None:
        self._guard()
        try:
            value = await self._client.get(self._prefix + key)
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._guard()
        try:
            await self._client.set(self._prefix + key, value, ex=ttl_seconds)
        except _FAILURES as exc:
            raise await self._trip(exc) from exc

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        self._guard()
        try:
            await self._client.delete(*(self._prefix + key for key in keys))
        except _FAILURES as exc:
            raise await self._trip(exc) from exc

    async def incr(self, key: str) -> int:
        self._guard()
        try:
            return int(await self._client.incr(self._prefix + key))
        except _FAILURES as exc:
            raise await self._trip(exc) from exc

    async def increment(self, key: str, *, ttl_seconds: int, amount: int = 1) -> int:
        """A window counter shared by all processes: created with its expiry, then INCRBY."""
        self._guard()
        name = self._prefix + key
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=ttl_seconds, nx=True)
                pipe.incrby(name, amount)
                _, value = await pipe.execute()
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        return int(value)

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        self._open_until = 0.0

    async def publish(self, channel: str, message: bytes) -> None:
        self._guard()
        try:
            await self._client.publish(self._prefix + channel, message)
        except _FAILURES as exc:
            raise await self._trip(exc) from exc

    async def delete_and_publish(self, keys: Sequence[str], channel: str, message: bytes) -> None:
        self._guard()
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                if keys:
                    pipe.delete(*(self._prefix + key for key in keys))
                pipe.publish(self._prefix + channel, message)
                await pipe.execute()
        except _FAILURES as exc:
            raise await self._trip(exc) from exc

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._prefix + channel)
        except _FAILURES as exc:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise CacheUnavailable(f"redis unavailable: {exc}") from exc

        async def messages() -> AsyncIterator[bytes]:
            last_heard = time.monotonic()
            try:
                while True:
                    # Ping when idle; a link that stops answering (even silently) ends in seconds.
                    message = await pubsub.get_message(timeout=PUBSUB_IDLE_SECONDS)
                    if message is not None:
                        last_heard = time.monotonic()
                        if message["type"] == "message":
                            yield bytes(message["data"])
                        continue
                    if time.monotonic() - last_heard > 3 * PUBSUB_IDLE_SECONDS:
                        raise CacheUnavailable("redis subscription stopped answering")
                    await pubsub.ping()
            except _FAILURES as exc:
                raise CacheUnavailable(f"redis subscription lost: {exc}") from exc
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]

        return messages()

    async def aclose(self) -> None:
        await self._client.aclose()
