"""The Redis cache and the S3 object store against real servers (Redis; moto's S3 server)."""

from __future__ import annotations

import asyncio
import os

import pytest

from cloudmall.adapters.cache.redis import RedisCache
from cloudmall.adapters.storage.s3 import S3ObjectStore
from cloudmall.services.ports import CacheUnavailable, StorageUnavailable
from tests.support import S3_ENV, Service, new_bucket, redis_url, start_redis

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)


async def test_redis_cache_round_trip_with_prefix_and_ttl() -> None:
    cache = RedisCache(redis_url())
    try:
        await cache.ping()
        assert await cache.get("k") is None
        await cache.set("k", b"\x00bytes", 30)
        assert await cache.get("k") == b"\x00bytes"
        assert await cache.incr("gen") == 1 and await cache.incr("gen") == 2
        await cache.delete("k", "missing")
        assert await cache.get("k") is None
    finally:
        await cache.aclose()


async def test_redis_down_fails_fast_and_recovers_without_restart() -> None:
    redis = start_redis()
    cache = RedisCache(f"redis://127.0.0.1:{redis.port}/0")
    try:
        await cache.set("k", b"v", 30)
        redis.stop()
        with pytest.raises(CacheUnavailable):
            await cache.get("k")
        with pytest.raises(CacheUnavailable, match="marked down"):  # breaker open: no wait
            await cache.get("k")
        redis = start_redis(redis.port)
        await asyncio.sleep(2.1)  # the breaker closes after OPEN_SECONDS
        assert await cache.get("k") is None  # a new, empty Redis answers again
        await cache.set("k", b"v2", 30)
        assert await cache.get("k") == b"v2"
    finally:
        await cache.aclose()
        redis.stop()


async def test_s3_store_round_trip(moto: Service) -> None:
    store = S3ObjectStore(new_bucket(moto))
    await store.ping()
    await store.put("images/a.png", b"png-bytes", content_type="image/png", cache_control="public")
    await store.put(
        "backups/x/part",
        b"data",
        content_type="application/gzip",
        cache_control="no-cache",
        storage_class="STANDARD_IA",
    )
    found = await store.get("images/a.png")
    assert found is not None and found.data == b"png-bytes" and found.content_type == "image/png"
    assert await store.get("images/missing.png") is None
    assert await store.keys("images/") == ["images/a.png"]
    await store.delete("images/a.png")
    assert await store.keys("images/") == []


async def test_s3_store_reports_a_missing_bucket_or_endpoint(moto: Service) -> None:
    with pytest.raises(StorageUnavailable, match="does not exist"):
        await S3ObjectStore(
            f"s3://no-such-bucket?region=ap-northeast-2&endpoint_url=http://127.0.0.1:{moto.port}"
        ).ping()
    dead = S3ObjectStore("s3://b?region=ap-northeast-2&endpoint_url=http://127.0.0.1:1")
    with pytest.raises(StorageUnavailable):
        await dead.put("k", b"v", content_type="text/plain", cache_control="no-cache")
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"


async def test_redis_publish_reaches_another_client_and_delete_and_publish_is_one_step() -> None:
    url = redis_url()
    listener, speaker = RedisCache(url), RedisCache(url)
    try:
        messages = await listener.subscribe("news")
        await speaker.set("k", b"v", 30)
        await speaker.delete_and_publish(["k"], "news", b"g 7")
        heard = await asyncio.wait_for(anext(messages), 5)
        assert heard == b"g 7"
        assert await speaker.get("k") is None
        await messages.aclose()  # type: ignore[attr-defined]
    finally:
        await listener.aclose()
        await speaker.aclose()
