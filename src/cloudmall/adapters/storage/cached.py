"""A read-through memory cache in front of any object store, for objects that never change.

Image keys are content hashes, so an object read once can be served from memory for good; the
cache is bounded in bytes and forgets the least recently used objects first.
"""

from __future__ import annotations

from collections import OrderedDict

from cloudmall.services.ports import ObjectStore, StoredObject


class CachedObjectStore:
    def __init__(self, store: ObjectStore, *, max_bytes: int, max_object_bytes: int) -> None:
        self._store = store
        self._max_bytes = max_bytes
        self._max_object_bytes = max_object_bytes
        self._objects: OrderedDict[str, StoredObject] = OrderedDict()
        self._size = 0

    async def get(self, key: str) -> StoredObject | None:
        cached = self._objects.get(key)
        if cached is not None:
            self._objects.move_to_end(key)
            return cached
        stored = await self._store.get(key)
        if stored is not None and len(stored.data) <= self._max_object_bytes:
            self._objects[key] = stored
            self._size += len(stored.data)
            while self._size > self._max_bytes:
                _, evicted = self._objects.popitem(last=False)
                self._size -= len(evicted.data)
        return stored

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        storage_class: str | None = None,
    ) -> None:
        await self._store.put(
            key,
            data,
            content_type=content_type,
            cache_control=cache_control,
            storage_class=storage_class,
        )

    async def delete(self, key: str) -> None:
        removed = self._objects.pop(key, None)
        if removed is not None:
            self._size -= len(removed.data)
        await self._store.delete(key)

    async def keys(self, prefix: str) -> list[str]:
        return await self._store.keys(prefix)

    async def ping(self) -> None:
        await self._store.ping()
