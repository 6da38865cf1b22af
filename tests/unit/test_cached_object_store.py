"""The read-through memory cache for immutable objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudmall.adapters.storage.cached import CachedObjectStore
from cloudmall.adapters.storage.local import LocalObjectStore

pytestmark = pytest.mark.anyio


class CountingStore(LocalObjectStore):
    reads = 0

    async def get(self, key: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().get(key)


async def test_reads_once_then_serves_from_memory_within_the_byte_bound(tmp_path: Path) -> None:
    inner = CountingStore(tmp_path)
    store = CachedObjectStore(inner, max_bytes=250, max_object_bytes=200)
    for name in ("a", "b", "c"):
        await store.put(name, name.encode() * 100, content_type="image/png", cache_control="x")
    await store.put("big", b"x" * 300, content_type="image/png", cache_control="x")
    assert (await store.get("a")) is not None and (await store.get("a")) is not None
    assert inner.reads == 1
    await store.get("b")
    await store.get("c")  # 300 bytes cached > 250: "a" (least recently used) goes
    await store.get("a")
    assert inner.reads == 4
    await store.get("big")
    await store.get("big")  # over the per-object bound: never cached
    assert inner.reads == 6
    assert await store.get("missing") is None
    await store.delete("a")
    assert await store.get("a") is None
