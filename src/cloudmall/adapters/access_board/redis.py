"""The access board on Redis (ElastiCache on AWS): the broker's Redis, which on AWS is the
cache's replication group too (another database, the same memory). One hash per account
(`access:<user id>`, after the URL's `?prefix=`), written by a script that keeps the board's
order (services.ports.AccessBoard) in one step, so two publishers racing can never leave the
older state behind.

An entry's keys carry no Redis TTL, so that a full memory cannot evict a ban: the group's
`maxmemory-policy` is `volatile-lru` (infra/cloudmall_infra/cache.py), which evicts only keys
with a TTL — the cache's entries, which always have one. The entry's lifetime is kept by the
board itself: its expiry (Redis's clock, in milliseconds) is a field a look-up checks, and a sorted
set (`access:expiries`) of the entries by expiry, from which every publish deletes up to
PURGE_BATCH that are past it; so the board still never grows without bound. (The script
touches the keys it purges without naming them: the group runs with cluster mode disabled.)

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

#: The most past-expiry entries one publish deletes (a backlog goes over a few publishes).
PURGE_BATCH = 100

# KEYS[1] the entry, KEYS[2] the expiries; ARGV: token version, stamp, role ('' = gone), must
# change ('1'/'0'), ttl, purge batch. The order of memory.is_newer: a gone entry is final, then
# the version, then the stamp; an entry past its expiry is no entry.
_PUBLISH = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
for _, key in ipairs(due) do redis.call('DEL', key) end
if #due > 0 then redis.call('ZREM', KEYS[2], unpack(due)) end
local expires = redis.call('HGET', KEYS[1], 'e')
if expires and tonumber(expires) <= now then redis.call('DEL', KEYS[1]) end
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
expires = now + tonumber(ARGV[5]) * 1000
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2], 'r', ARGV[3], 'p', ARGV[4], 'e', expires)
redis.call('PERSIST', KEYS[1])  -- an entry written with a TTL before the board kept its own
redis.call('ZADD', KEYS[2], expires, KEYS[1])
return 1
"""

# KEYS[1] the entry: its version, role and must-change flag, or nil if none or past its expiry.
_LOOK_UP = """
local found = redis.call('HMGET', KEYS[1], 'v', 'r', 'p', 'e')
if not found[1] then return nil end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if found[4] and tonumber(found[4]) <= now then return nil end
return {found[1], found[2], found[3]}
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
        self._look_up = self._client.register_script(_LOOK_UP)
        self._expiries = f"{self._prefix}expiries"
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
            PURGE_BATCH,
        ]
        try:
            written = await self._publish(keys=[self._key(user_id), self._expiries], args=args)
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        return bool(written)

    async def look_up(self, user_id: int) -> AccountAccess | None:
        self._guard()
        try:
            found = await self._look_up(keys=[self._key(user_id)])
        except _FAILURES as exc:
            raise await self._trip(exc) from exc
        if found is None:
            return None
        version, role, must_change = (str(value) for value in found)
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
