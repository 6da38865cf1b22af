"""The access board in this process: for tests, and for a service with no shared Redis (then
nothing is ever published to it, and every token's claims are believed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cloudmall.services.ports import AccountAccess


@dataclass(frozen=True, slots=True)
class _Entry:
    access: AccountAccess
    stamp: int
    expires_at: float


def is_newer(access: AccountAccess, stamp: int, stored: AccountAccess, stored_stamp: int) -> bool:
    """The board's order (services.ports.AccessBoard): gone is final, then the token version,
    then the stamp."""
    if stored.gone:
        return False
    if access.gone:
        return True
    if access.token_version != stored.token_version:
        return access.token_version > stored.token_version
    return stamp > stored_stamp


class MemoryAccessBoard:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[int, _Entry] = {}

    async def publish(
        self, user_id: int, access: AccountAccess, *, stamp: int, ttl_seconds: int
    ) -> bool:
        stored = await self.look_up(user_id)
        if stored is not None and not is_newer(access, stamp, stored, self._entries[user_id].stamp):
            return False
        self._entries[user_id] = _Entry(access, stamp, self._clock() + ttl_seconds)
        return True

    async def look_up(self, user_id: int) -> AccountAccess | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            del self._entries[user_id]
            return None
        return entry.access

    async def aclose(self) -> None:
        """Nothing to close."""
