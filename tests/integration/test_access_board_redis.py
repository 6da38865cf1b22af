"""The access board on a real Redis: the newest publish kept (one script, so racing publishers
cannot leave the older), an entry that expires by the board's own clock (its keys carry no
TTL, so a full memory under `volatile-lru` evicts cache entries and never a ban), and a Redis
that is down failing fast."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import asyncio as aioredis

from cloudmall.adapters.access_board.redis import RedisAccessBoard
from cloudmall.adapters.cache.redis import RedisCache
from cloudmall.domain.users import Role
from cloudmall.services.ports import AccessBoardUnavailable, AccountAccess
from tests.support import redis_url, start_redis

pytestmark = pytest.mark.anyio


async def test_the_newest_publish_is_kept_and_a_gone_account_stays_gone() -> None:
    board = RedisAccessBoard(redis_url())
    try:
        assert await board.look_up(7) is None
        assert await board.publish(7, AccountAccess(1, Role.ADMIN), stamp=10, ttl_seconds=60)
        assert not await board.publish(7, AccountAccess(1, Role.CUSTOMER), stamp=9, ttl_seconds=60)
        assert not await board.publish(7, AccountAccess(0, Role.CUSTOMER), stamp=99, ttl_seconds=60)
        assert await board.look_up(7) == AccountAccess(1, Role.ADMIN)
        assert await board.publish(7, AccountAccess(1, Role.CUSTOMER), stamp=11, ttl_seconds=60)
        changed = AccountAccess(2, Role.CUSTOMER, must_change_password=True)
        assert await board.publish(7, changed, stamp=5, ttl_seconds=60)
        assert await board.look_up(7) == changed
        assert await board.publish(7, AccountAccess(0, None), stamp=1, ttl_seconds=60)
        assert not await board.publish(7, AccountAccess(9, Role.ADMIN), stamp=99, ttl_seconds=60)
        gone = await board.look_up(7)
        assert gone is not None and gone.gone
        # microsecond stamps of today are exact in the script's numbers (below 2**53)
        stamp = 1_798_000_000_000_000
        assert await board.publish(8, AccountAccess(0, Role.ADMIN), stamp=stamp, ttl_seconds=60)
        assert not await board.publish(
            8, AccountAccess(0, Role.CUSTOMER), stamp=stamp, ttl_seconds=60
        )
        assert await board.publish(
            8, AccountAccess(0, Role.CUSTOMER), stamp=stamp + 1, ttl_seconds=60
        )
    finally:
        await board.aclose()


async def test_racing_publishers_leave_the_newest() -> None:
    url = redis_url()
    boards = [RedisAccessBoard(url) for _ in range(4)]
    try:
        await asyncio.gather(
            *(
                boards[stamp % 4].publish(
                    9, AccountAccess(stamp // 10, Role.CUSTOMER), stamp=stamp, ttl_seconds=60
                )
                for stamp in reversed(range(40))
            )
        )
        assert await boards[0].look_up(9) == AccountAccess(3, Role.CUSTOMER)
    finally:
        for board in boards:
            await board.aclose()


async def test_an_entry_lives_its_ttl_under_the_urls_prefix_with_no_redis_ttl() -> None:
    url = redis_url()
    board = RedisAccessBoard(url)
    parts = urlsplit(url)
    prefix = parse_qs(parts.query)["prefix"][0]
    client = aioredis.Redis.from_url(parts._replace(query="").geturl())
    try:
        await board.publish(7, AccountAccess(1, Role.ADMIN), stamp=1, ttl_seconds=3660)
        assert await client.ttl(f"{prefix}access:7") == -1  # no TTL: never evictable
        assert await client.ttl(f"{prefix}access:expiries") == -1
        await board.publish(8, AccountAccess(1, Role.ADMIN), stamp=1, ttl_seconds=1)
        assert await board.look_up(8) == AccountAccess(1, Role.ADMIN)
        await asyncio.sleep(1.2)
        assert await board.look_up(8) is None  # past its expiry: no entry
        assert await client.exists(f"{prefix}access:8") == 1  # until the next publish purges it
        # An entry past its expiry is no entry: an older state may be published over it.
        assert await board.publish(8, AccountAccess(0, Role.CUSTOMER), stamp=0, ttl_seconds=1)
        await asyncio.sleep(1.2)
        await board.publish(9, AccountAccess(1, Role.ADMIN), stamp=1, ttl_seconds=60)
        assert await client.exists(f"{prefix}access:8") == 0  # purged
        expiries = await client.zrange(f"{prefix}access:expiries", 0, -1)
        assert sorted(expiries) == [f"{prefix}access:7".encode(), f"{prefix}access:9".encode()]
        assert await board.look_up(7) == AccountAccess(1, Role.ADMIN)
    finally:
        await client.aclose()
        await board.aclose()


async def test_an_entry_written_with_a_ttl_before_is_read_and_loses_its_ttl_when_published() -> (
    None
):
    """Entries the board wrote before it kept its own expiry (a Redis TTL, no `e` field)."""
    url = redis_url()
    board = RedisAccessBoard(url)
    parts = urlsplit(url)
    key = parse_qs(parts.query)["prefix"][0] + "access:7"
    client = aioredis.Redis.from_url(parts._replace(query="").geturl())
    try:
        await client.hset(key, mapping={"v": 1, "s": 1, "r": "admin", "p": 0})
        await client.expire(key, 60)
        assert await board.look_up(7) == AccountAccess(1, Role.ADMIN)
        assert await board.publish(7, AccountAccess(2, Role.ADMIN), stamp=2, ttl_seconds=60)
        assert await client.ttl(key) == -1
    finally:
        await client.aclose()
        await board.aclose()


async def test_a_board_that_is_down_fails_fast_and_recovers() -> None:
    redis = start_redis()
    board = RedisAccessBoard(f"redis://127.0.0.1:{redis.port}/0")
    try:
        await board.publish(7, AccountAccess(1, Role.ADMIN), stamp=1, ttl_seconds=60)
        redis.stop()
        with pytest.raises(AccessBoardUnavailable):
            await board.look_up(7)
        with pytest.raises(AccessBoardUnavailable, match="marked down"):  # no wait
            await board.publish(7, AccountAccess(2, Role.ADMIN), stamp=2, ttl_seconds=60)
        redis = start_redis(redis.port)
        await asyncio.sleep(2.1)
        assert await board.look_up(7) is None  # a new, empty Redis
        assert await board.publish(7, AccountAccess(2, Role.ADMIN), stamp=2, ttl_seconds=60)
    finally:
        await board.aclose()
        redis.stop()


@pytest.mark.parametrize("policy", ["volatile-lru", "allkeys-lru"])
async def test_a_full_memory_evicts_cache_entries_and_no_ban_under_volatile_lru(
    policy: str,
) -> None:
    """One Redis for the cache (database 0) and the board (database 1), as on AWS
    (infra/cloudmall_infra/cache.py): filled past its maxmemory by cache entries, `volatile-lru`
    evicts only those (they all have a TTL) and every board entry stays; `allkeys-lru`, the
    policy the group must not have, drops bans."""
    redis = start_redis(None, "--maxmemory", "4mb", "--maxmemory-policy", policy)
    cache = RedisCache(f"redis://127.0.0.1:{redis.port}/0")
    board = RedisAccessBoard(f"redis://127.0.0.1:{redis.port}/1")
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{redis.port}/0")
    banned = range(1, 201)
    try:
        for user_id in banned:
            gone = AccountAccess(user_id, None)
            assert await board.publish(user_id, gone, stamp=1, ttl_seconds=3600)
        for n in range(1_000):  # 10 MB of catalogue answers into 4 MB
            await cache.set(f"product:{n}", b"x" * 10_000, ttl_seconds=300)
        assert 0 < await client.ttl("product:999") <= 300  # a cache entry always has a TTL
        await cache.increment("rate:login:1", ttl_seconds=60)  # and so has a rate-limit count
        assert 0 < await client.ttl("rate:login:1") <= 60
        assert int((await client.info("stats"))["evicted_keys"]) > 0
        kept = [user_id for user_id in banned if await board.look_up(user_id) is not None]
        if policy == "volatile-lru":
            assert kept == list(banned)
        else:
            assert len(kept) < len(banned)
    finally:
        await client.aclose()
        await cache.aclose()
        await board.aclose()
        redis.stop()
