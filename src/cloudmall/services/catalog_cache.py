"""Cache-aside for catalogue reads, as ready response bytes, invalidated across processes.

Two levels. The shared cache (Redis in production) holds answers under keys that carry the
catalogue's generation number, itself kept in the shared cache; a catalogue write bumps it, so
every process's next read misses and rebuilds. Each process also keeps the answers it served in
memory (level 1), valid while the generation it knows is current: a watcher subscribed to the
shared cache hears every bump at once, and level-1 answers are re-checked against the shared cache
after a few seconds anyway, so even a lost message or a silent network failure costs seconds of
staleness, not minutes. A cache that is down only costs speed: reads fall through to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from cloudmall.services.ports import Cache, CacheUnavailable, Metrics

log = logging.getLogger(__name__)

GENERATION_KEY = "catalog:generation"
CHANNEL = "catalog:invalidations"
LOCAL_SECONDS = 5.0  # how long a level-1 answer is trusted without asking the shared cache
LOCAL_BYTES = 16 * 1024 * 1024  # per process: the answers most asked for, not every page ever
RESUBSCRIBE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class CachedBody:
    """A ready JSON body with its ETag and, for lists, the total row count."""

    body: bytes
    etag: str
    total: int = 0
    key: str = ""  # which cached answer this is ("list:…", "product:7"); see CatalogCache.peek

    def pack(self) -> bytes:
        return f"{self.total} {self.etag}\n".encode() + self.body

    @classmethod
    def unpack(cls, packed: bytes, key: str = "") -> CachedBody:
        header, _, body = packed.partition(b"\n")
        total, etag = header.decode().split(" ", 1)
        return cls(body=body, etag=etag, total=int(total), key=key)

    @classmethod
    def of(cls, body: bytes, total: int = 0) -> CachedBody:
        digest = hashlib.blake2b(body, digest_size=12).hexdigest()
        return cls(body=body, etag=f'"{digest}"', total=total)


@dataclass(frozen=True, slots=True)
class _Local:
    generation: int
    checked_at: float
    answer: CachedBody


class CatalogCache:
    def __init__(self, cache: Cache, *, ttl_seconds: int, metrics: Metrics) -> None:
        self._cache = cache
        self._ttl = ttl_seconds
        self._metrics = metrics
        self._local: dict[str, _Local] = {}
        self._local_bytes = 0
        self._in_flight: dict[str, asyncio.Future[tuple[CachedBody, bool]]] = {}
        self._known_generation: int | None = None  # set only while the watcher is subscribed
        self._watcher: asyncio.Task[None] | None = None

    # --- reading ------------------------------------------------------------------------------

    async def _generation(self) -> int:
        if self._known_generation is not None:
            return self._known_generation
        raw = await self._cache.get(GENERATION_KEY)
        return int(raw) if raw else 0

    async def get_or_build(
        self, kind: str, key: str, build: Callable[[], Awaitable[CachedBody]]
    ) -> CachedBody:
        local_key = f"{kind}:{key}"
        local = self.peek(local_key)
        if local is not None:
            return local
        # One lookup per key at a time in this process: a burst of requests for an answer that is
        # not at hand waits for the first one's, instead of all asking the cache (or building).
        flight = self._in_flight.get(local_key)
        if flight is None:
            flight = asyncio.ensure_future(self._look_up(kind, key, local_key, build))
            self._in_flight[local_key] = flight
            flight.add_done_callback(lambda done: self._landed(local_key, done))
        answer, hit = await asyncio.shield(flight)
        if hit:
            self._metrics.cache_hit(kind)
        else:
            self._metrics.cache_miss(kind)
        return answer

    def _landed(self, local_key: str, flight: asyncio.Future[tuple[CachedBody, bool]]) -> None:
        self._in_flight.pop(local_key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved here too, in case every waiter has gone

    async def _look_up(
        self, kind: str, key: str, local_key: str, build: Callable[[], Awaitable[CachedBody]]
    ) -> tuple[CachedBody, bool]:
        """The answer and whether the shared cache had it."""
        try:
            generation = await self._generation()
            shared_key = f"catalog:{generation}:{kind}:{key}"
            packed = await self._cache.get(shared_key)
        except CacheUnavailable:
            self._metrics.cache_error()
            return await build(), False
        if packed is not None:
            answer = CachedBody.unpack(packed, local_key)
            self._remember(local_key, generation, answer)
            return answer, True
        built = replace(await build(), key=local_key)
        try:
            # Store only if no write happened meanwhile; otherwise the next read rebuilds anyway.
            if await self._generation() == generation:
                await self._cache.set(shared_key, built.pack(), self._ttl)
                self._remember(local_key, generation, built)
        except CacheUnavailable:
            self._metrics.cache_error()
        return built, False

    def peek(self, local_key: str) -> CachedBody | None:
        """A level-1 answer that is current, without any I/O (for the web layer's fast path)."""
        local = self._local.get(local_key)
        if (
            local is None
            or local.generation != self._known_generation
            or time.monotonic() - local.checked_at >= LOCAL_SECONDS
        ):
            return None
        self._metrics.cache_hit(local_key.partition(":")[0])
        return local.answer

    def _remember(self, local_key: str, generation: int, answer: CachedBody) -> None:
        if self._known_generation != generation:
            return  # no watcher, or it has heard of a newer generation: keep nothing locally
        self._forget(local_key)
        while self._local and self._local_bytes + len(answer.body) > LOCAL_BYTES:
            self._forget(next(iter(self._local)))  # the oldest first
        self._local[local_key] = _Local(generation, time.monotonic(), answer)
        self._local_bytes += len(answer.body)

    def _forget(self, local_key: str) -> None:
        gone = self._local.pop(local_key, None)
        if gone is not None:
            self._local_bytes -= len(gone.answer.body)

    def _forget_all(self) -> None:
        self._local.clear()
        self._local_bytes = 0

    # --- invalidating -------------------------------------------------------------------------

    async def invalidate(self) -> None:
        """Forget every cached catalogue answer, in every process that shares this cache."""
        self._forget_all()
        try:
            generation = await self._cache.incr(GENERATION_KEY)
            if self._known_generation is not None:
                self._known_generation = max(self._known_generation, generation)
            await self._cache.publish(CHANNEL, f"g {generation}".encode())
        except CacheUnavailable:
            self._metrics.cache_error()

    async def invalidate_stock(self, product_ids: list[int], *, availability_changed: bool) -> None:
        """Forget what an order or a cancellation changed.

        A product that sold out or came back changes every list it is in: all answers go. A count
        that merely moved changes only the pages of `product_ids`; lists show counts as of up to
        the TTL ago (the order itself always checks the real stock).
        """
        if availability_changed:
            await self.invalidate()
            return
        if not product_ids:
            return
        for product_id in product_ids:
            self._forget(f"product:{product_id}")
        try:
            generation = await self._generation()
            await self._cache.delete_and_publish(
                [f"catalog:{generation}:product:{pid}" for pid in product_ids],
                CHANNEL,
                ("p " + " ".join(str(pid) for pid in product_ids)).encode(),
            )
        except CacheUnavailable:
            self._metrics.cache_error()

    # --- watching other processes' writes -----------------------------------------------------

    def _heard(self, message: bytes) -> None:
        kind, _, rest = message.decode().partition(" ")
        if kind == "g":
            generation = int(rest)
            if self._known_generation is None or generation > self._known_generation:
                self._known_generation = generation
                self._forget_all()
        elif kind == "p":
            for product_id in rest.split():
                self._forget(f"product:{product_id}")

    async def _watch(self) -> None:
        while True:
            try:
                messages = await self._cache.subscribe(CHANNEL)
                raw = await self._cache.get(GENERATION_KEY)  # after subscribing: nothing missed
                self._known_generation = int(raw) if raw else 0
                async for message in messages:
                    self._heard(message)
            except CacheUnavailable as exc:
                log.warning("catalogue invalidations unavailable, using the shared cache: %s", exc)
            except Exception:
                log.exception("catalogue invalidation watcher failed; restarting it")
            self._known_generation = None
            self._forget_all()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    @property
    def listening(self) -> bool:
        """True while this process hears other processes' invalidations (level 1 is on)."""
        return self._known_generation is not None

    def start(self) -> None:
        """Keep level-1 answers in this process, fed by the invalidation watcher."""
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        self._known_generation = None
        self._forget_all()
