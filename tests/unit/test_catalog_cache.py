"""The two-level catalogue cache: level-1 answers, invalidation heard from other processes."""

from __future__ import annotations

import asyncio

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.services import catalog_cache as module
from cloudmall.services.catalog_cache import CachedBody, CatalogCache
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return await super().get(key)


def builder(counter: list[int], body: bytes = b"[]"):  # type: ignore[no-untyped-def]
    async def build() -> CachedBody:
        counter.append(1)
        return CachedBody.of(body + str(len(counter)).encode())

    return build


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_level_one_answers_need_no_io_while_current() -> None:
    shared = CountingCache()
    cache = CatalogCache(shared, ttl_seconds=300, metrics=FakeMetrics())
    cache.start()
    await settle()
    try:
        builds: list[int] = []
        first = await cache.get_or_build("list", "k", builder(builds))
        gets = shared.gets
        second = await cache.get_or_build("list", "k", builder(builds))
        assert second == first and first.key == "list:k"
        assert shared.gets == gets and builds == [1]
        assert cache.peek("list:k") == first
    finally:
        await cache.stop()


async def test_a_write_in_another_process_is_heard_at_once() -> None:
    shared = MemoryCache()  # one shared cache, two processes' catalogue caches
    reader = CatalogCache(shared, ttl_seconds=300, metrics=FakeMetrics())
    writer = CatalogCache(shared, ttl_seconds=300, metrics=FakeMetrics())
    reader.start()
    writer.start()
    await settle()
    try:
        builds: list[int] = []
        await reader.get_or_build("list", "k", builder(builds))
        assert reader.peek("list:k") is not None
        await writer.invalidate()
        await settle()
        assert reader.peek("list:k") is None
        again = await reader.get_or_build("list", "k", builder(builds))
        assert builds == [1, 1] and again.body == b"[]2"
    finally:
        await reader.stop()
        await writer.stop()


async def test_a_product_page_is_forgotten_everywhere_after_a_sale() -> None:
    shared = MemoryCache()
    reader = CatalogCache(shared, ttl_seconds=300, metrics=FakeMetrics())
    writer = CatalogCache(shared, ttl_seconds=300, metrics=FakeMetrics())
    reader.start()
    writer.start()
    await settle()
    try:
        builds: list[int] = []
        await reader.get_or_build("product", "7", builder(builds))
        await reader.get_or_build("list", "k", builder(builds))
        await writer.invalidate_stock([7], availability_changed=False)
        await settle()
        assert reader.peek("product:7") is None
        assert reader.peek("list:k") is not None  # a count that moved leaves lists alone
    finally:
        await reader.stop()
        await writer.stop()


async def test_level_one_answers_are_rechecked_after_a_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
    cache.start()
    await settle()
    try:
        await cache.get_or_build("list", "k", builder([]))
        clock = module.time.monotonic() + module.LOCAL_SECONDS + 0.1
        monkeypatch.setattr(module.time, "monotonic", lambda: clock)
        assert cache.peek("list:k") is None
    finally:
        await cache.stop()


async def test_without_a_watcher_nothing_is_kept_locally() -> None:
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
    builds: list[int] = []
    await cache.get_or_build("list", "k", builder(builds))
    assert cache.peek("list:k") is None
    await cache.get_or_build("list", "k", builder(builds))
    assert builds == [1]  # still served by the shared level


async def test_level_one_is_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "LOCAL_BYTES", 100)
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
    cache.start()
    await settle()
    try:
        for key in ("a", "b", "c"):
            await cache.get_or_build("list", key, builder([], b"x" * 40))
        assert cache.peek("list:a") is None  # the oldest went to make room
        assert cache.peek("list:b") is not None and cache.peek("list:c") is not None
    finally:
        await cache.stop()


async def test_a_burst_of_misses_for_one_key_builds_once() -> None:
    shared = CountingCache()
    cache = CatalogCache(shared, ttl_seconds=300, metrics=FakeMetrics())
    builds: list[int] = []

    async def slow_build() -> CachedBody:
        builds.append(1)
        await asyncio.sleep(0.05)
        return CachedBody.of(b"[1]")

    answers = await asyncio.gather(
        *(cache.get_or_build("list", "k", slow_build) for _ in range(50))
    )
    assert builds == [1]
    assert {answer.body for answer in answers} == {b"[1]"}
    assert shared.gets <= 3  # generation + entry (+ the generation re-check), not 50 × that
