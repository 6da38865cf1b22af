"""The access board on Redis (ElastiCache on AWS): the broker's Redis, whose memory is not a
cache's to evict at will. One hash per account (`access:<user id>`, after the URL's `?prefix=`),
written by a script that keeps the board's order (services.ports.AccessBoard) in one step, so
two publishers racing can never leave the older state behind.

A board that is down must cost a request little: after a failure, calls fail at once for a
couple of seconds instead of each waiting for a socket timeout.
"""

from __future__ import annotations

import contextlib
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from cloudmall.domain.users import Role
from cloudmall.services.ports import AccessBoardUnavailable, AccountAccess

OPEN_SECONDS = 2.0
# Every way a call can fail: redis-py lets some through that are not RedisError.
_FAILURES = (RedisError, OSError, RuntimeError)

# KEYS[1] the entry; ARGV: token version, stamp, role ('' = gone), must change ('1'/'0'), ttl.
# The order of memory.is_newer: a gone entry is final, then the version, then the stamp.
_PUBLISH = """
local old = redis.call('HMGET', KEYS[1], 'v', 's', 'r')
if old[1] then
  if old[3] == '' then return 0 end
  if ARGV[3] ~= '' then
    local stored, given = tonumber(old[1]), tonumber(ARGV[1])
    if stored > given or (stored == given and tonumber(old[2]) >= tonumber(ARGV[2])) then
      return 0
    end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2], 'r', ARGV[3], 'p', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisAccessBoard:
    def __init__(self, url: str, *, timeout_seconds: float = 0.5) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self._prefix = query.pop("prefix", [""])[0] + "access:"
        self._client = aioredis.Redis.from_url(
            urlunsplit(parts._replace(query="")),
            decode_responses=True,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        self._publish = self._client.register_script(_PUBLISH)
        self._open_until = 0.0

    async def publish(
        self, user_id: int, access: AccountAccess, *, stamp: int, ttl_seconds: int
    ) -> bool:
        self._guard()
        role = "" if access.role is None else access.role.value
        args: list[str | int] = [
            access.token_version,
            stamp,
            role,
            int(access.must_change_password),
            ttl_seconds,
        ]
        try:
            written = await self._publish(keys=[self._key(user_id)], args=args)
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        return bool(written)

    async def look_up(self, user_id: int) -> AccountAccess | None:
        self._guard()
        try:
            found = await self._client.hmget(self._key(user_id), ["v", "r", "p"])
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        version, role, must_change = (str(value) if value is not None else None for value in found)
        if version is None:
            return None
        return AccountAccess(int(version), Role(role) if role else None, must_change == "1")

    async def aclose(self) -> None:
        await self._client.aclose()

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    def _guard(self) -> None:
        if time.monotonic() < self._open_until:
            raise AccessBoardUnavailable("redis marked down; retrying shortly")

    async def _trip(self, exc: Exception) -> AccessBoardUnavailable:
        self._open_until = time.monotonic() + OPEN_SECONDS
        # After a restart or failover every idle pooled connection is dead: drop them at once.
        with contextlib.suppress(Exception):
            await self._client.connection_pool.disconnect(inuse_connections=False)
        return AccessBoardUnavailable(f"redis unavailable: {exc}")
