"""The access board on a real Redis: the newest publish kept (one script, so racing publishers
cannot leave the older), an entry that expires, and a Redis that is down failing fast."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import asyncio as aioredis

from cloudmall.adapters.access_board.redis import RedisAccessBoard
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


async def test_an_entry_lives_its_ttl_under_the_urls_prefix() -> None:
    url = redis_url()
    board = RedisAccessBoard(url)
    parts = urlsplit(url)
    prefix = parse_qs(parts.query)["prefix"][0]
    client = aioredis.Redis.from_url(parts._replace(query="").geturl())
    try:
        await board.publish(7, AccountAccess(1, Role.ADMIN), stamp=1, ttl_seconds=3660)
        ttl = await client.ttl(f"{prefix}access:7")
        assert 3600 < ttl <= 3660
        await board.publish(8, AccountAccess(1, Role.ADMIN), stamp=1, ttl_seconds=1)
        await asyncio.sleep(1.5)
        assert await board.look_up(8) is None
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
