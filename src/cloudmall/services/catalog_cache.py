"""Cache-aside for catalogue reads, as ready response bytes, invalidated across processes.

Every key carries the catalogue's generation number, kept in the cache itself; a catalogue write
bumps it, so every process's next read misses and rebuilds. A cache that is down only costs
speed: reads fall through to the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cloudmall.services.ports import Cache, CacheUnavailable, Metrics

GENERATION_KEY = "catalog:generation"


@dataclass(frozen=True, slots=True)
class CachedBody:
    """A ready JSON body with its ETag and, for lists, the total row count."""

    body: bytes
    etag: str
    total: int = 0

    def pack(self) -> bytes:
        return f"{self.total} {self.etag}\n".encode() + self.body

    @classmethod
    def unpack(cls, packed: bytes) -> CachedBody:
        header, _, body = packed.partition(b"\n")
        total, etag = header.decode().split(" ", 1)
        return cls(body=body, etag=etag, total=int(total))

    @classmethod
    def of(cls, body: bytes, total: int = 0) -> CachedBody:
        return cls(
            body=body, etag=f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"', total=total
        )


class CatalogCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int, metrics: Metrics) -> None:
        self._cache = cache
        self._ttl = ttl_seconds
        self._metrics = metrics

    async def _generation(self) -> int:
        raw = await self._cache.get(GENERATION_KEY)
        return int(raw) if raw else 0

    async def get_or_build(
        self, kind: str, key: str, build: Callable[[], Awaitable[CachedBody]]
    ) -> CachedBody:
        try:
            generation = await self._generation()
            cache_key = f"catalog:{generation}:{kind}:{key}"
            packed = await self._cache.get(cache_key)
        except CacheUnavailable:
            self._metrics.cache_error()
            self._metrics.cache_miss(kind)
            return await build()
        if packed is not None:
            self._metrics.cache_hit(kind)
            return CachedBody.unpack(packed)
        self._metrics.cache_miss(kind)
        built = await build()
        try:
            # Store only if no write happened meanwhile; otherwise the next read rebuilds anyway.
            if await self._generation() == generation:
                await self._cache.set(cache_key, built.pack(), self._ttl)
        except CacheUnavailable:
            self._metrics.cache_error()
        return built

    async def invalidate(self) -> None:
        """Forget every cached catalogue answer, in every process that shares this cache."""
        try:
            await self._cache.incr(GENERATION_KEY)
        except CacheUnavailable:
            self._metrics.cache_error()

    async def invalidate_stock(self, product_ids: list[int], *, availability_changed: bool) -> None:
        """Forget what an order or a cancellation changed.

        A product that sold out or came back changes every list it is in: all answers go. A count
        that merely moved changes only the product's own page; lists show counts as of up to the
        TTL ago (the order itself always checks the real stock).
        """
        if availability_changed:
            await self.invalidate()
            return
        try:
            generation = await self._generation()
            await self._cache.delete(
                *(f"catalog:{generation}:product:{pid}" for pid in product_ids)
            )
        except CacheUnavailable:
            self._metrics.cache_error()
