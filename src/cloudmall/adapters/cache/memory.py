"""An in-process TTL cache: the embedded default for one process."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence


class MemoryCache:
    """Bytes by key with per-entry expiry, bounded in entries (least recently used goes first)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._subscribers: dict[str, list[asyncio.Queue[bytes]]] = {}

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def incr(self, key: str) -> int:
        current = await self.get(key)
        value = int(current or b"0") + 1
        self._entries[key] = (float("inf"), str(value).encode())
        return value

    async def increment(self, key: str, *, ttl_seconds: int, amount: int = 1) -> int:
        """A window counter (rate limits) for this process alone."""
        now = time.monotonic()
        entry = self._entries.get(key)
        expires_at, value = entry if entry and entry[0] >= now else (now + ttl_seconds, b"0")
        count = int(value) + amount
        self._entries[key] = (expires_at, str(count).encode())
        self._entries.move_to_end(key)
        return count

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        """Nothing to let go of: the entries live and die with the process."""

    async def publish(self, channel: str, message: bytes) -> None:
        for queue in self._subscribers.get(channel, []):
            queue.put_nowait(message)

    async def delete_and_publish(self, keys: Sequence[str], channel: str, message: bytes) -> None:
        await self.delete(*keys)
        await self.publish(channel, message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscribers.setdefault(channel, []).append(queue)

        async def messages() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield await queue.get()
            finally:
                self._subscribers[channel].remove(queue)

        return messages()
