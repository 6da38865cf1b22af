"""Two stateless server processes behind nginx (standing in for the ALB), sharing every tier."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from PIL import Image

from tests.conftest import shop_env
from tests.e2e.client import Shopper, create_product, log_in_admin, sign_up
from tests.support import (
    S3_ENV,
    LiveServer,
    Service,
    new_bucket,
    scratch_database,
    start_nginx,
    start_redis,
    start_server,
    stop_server,
)


@dataclass
class Cluster:
    a: LiveServer
    b: LiveServer
    balancer: LiveServer  # nginx, shaped like a server for the HTTP helpers
    redis: Service


@pytest.fixture(scope="module", params=["mariadb", "postgresql"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, moto: Service
) -> Iterator[Cluster]:
    tmp_path: Path = tmp_path_factory.mktemp(f"cluster-{request.param}")
    redis = start_redis()
    with scratch_database(str(request.param), tmp_path) as url:
        env = shop_env(
            url,
            tmp_path,
            CLOUDMALL_CACHE_URL=f"redis://127.0.0.1:{redis.port}/0",
            CLOUDMALL_STORAGE_URL=new_bucket(moto),
            **S3_ENV,
        )
        a = start_server(env, tmp_path)
        b = start_server(env, tmp_path)
        balancer_url, nginx = start_nginx([a.url, b.url], tmp_path)
        try:
            yield Cluster(a, b, LiveServer(balancer_url, nginx.process, a.log_path, a.env), redis)
        finally:
            nginx.stop()
            stop_server(a)
            stop_server(b)
            redis.stop()


def on(server: LiveServer, shopper: Shopper) -> Shopper:
    """The same signed-in person, talking to another server."""
    return Shopper(
        http=httpx.Client(base_url=server.url, timeout=30), token=shopper.token, user=shopper.user
    )


def test_every_server_listens_for_catalogue_invalidations(cluster: Cluster) -> None:
    client = redis.Redis(host="127.0.0.1", port=cluster.redis.port)
    assert dict(client.pubsub_numsub("catalog:invalidations")) == {b"catalog:invalidations": 2}
    for server in (cluster.a, cluster.b):
        ready = httpx.get(server.url + "/readyz").json()
        assert ready["tiers"]["cache"]["detail"] == "redis, invalidations listening"


def test_an_edit_through_one_server_is_served_by_the_other(cluster: Cluster) -> None:
    admin_a = log_in_admin(cluster.a)
    product = create_product(admin_a, stock=5, price="100.00")
    reader_b = httpx.Client(base_url=cluster.b.url)
    assert reader_b.get(f"/api/products/{product['id']}").json()["price"] == "100.00"  # now cached
    assert any(
        row["id"] == product["id"]
        for row in reader_b.get("/api/products", params={"limit": 500}).json()
    )
    assert (
        admin_a.patch(f"/api/products/{product['id']}", json={"price": "250.00"}).status_code == 200
    )
    assert reader_b.get(f"/api/products/{product['id']}").json()["price"] == "250.00"
    rows = reader_b.get("/api/products", params={"limit": 500}).json()
    assert next(row for row in rows if row["id"] == product["id"])["price"] == "250.00"


def test_a_token_from_one_server_works_on_the_other(cluster: Cluster) -> None:
    shopper_a = sign_up(cluster.a)
    me = on(cluster.b, shopper_a).get("/api/auth/me")
    assert me.status_code == 200 and me.json()["id"] == shopper_a.user["id"]


def test_an_image_uploaded_through_one_is_served_by_the_other(cluster: Cluster) -> None:
    admin_a = log_in_admin(cluster.a)
    product = create_product(admin_a, stock=1)
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), "navy").save(buffer, format="JPEG")
    row = admin_a.put(
        f"/api/products/{product['id']}/image",
        files={"file": ("p.jpg", buffer.getvalue(), "image/jpeg")},
    ).json()
    served = httpx.get(cluster.b.url + row["image_url"])
    stored = httpx.get(cluster.a.url + row["image_url"])  # re-encoded from the pixels by A
    assert served.status_code == 200 and served.content == stored.content
    assert Image.open(io.BytesIO(served.content)).size == (320, 200)
    assert served.headers["cache-control"].endswith("immutable")


def test_two_hundred_concurrent_orders_through_nginx_for_twenty_units(cluster: Cluster) -> None:
    admin = log_in_admin(cluster.balancer)
    product = create_product(admin, stock=20)
    shoppers = [sign_up(cluster.balancer) for _ in range(10)]

    async def storm() -> list[int]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=cluster.balancer.url, timeout=60, limits=limits
        ) as http:

            async def buy(index: int) -> int:
                answer = await http.post(
                    "/api/orders",
                    json={"items": [{"productId": product["id"], "quantity": 1}]},
                    headers=shoppers[index % len(shoppers)].headers,
                )
                return answer.status_code

            return await asyncio.gather(*(buy(i) for i in range(200)))

    statuses = asyncio.run(storm())
    assert statuses.count(201) == 20, sorted(statuses)
    assert statuses.count(409) == 180, sorted(statuses)
    assert admin.get(f"/api/products/{product['id']}").json()["stock_quantity"] == 0
    served_by = {server.url: server.log() for server in (cluster.a, cluster.b)}
    assert all("Traceback" not in log for log in served_by.values())


def cache_hits(metrics_text: str) -> float:
    return sum(
        float(value)
        for value in re.findall(
            r'cloudmall_cache_requests_total\{kind="product",result="hit"\} (\S+)', metrics_text
        )
    )


def test_reads_survive_redis_stopping_and_use_it_again_when_it_returns(cluster: Cluster) -> None:
    admin = log_in_admin(cluster.balancer)
    product = create_product(admin, stock=3)
    statuses: list[int] = []
    stop = threading.Event()

    def read_load() -> None:
        with httpx.Client(base_url=cluster.balancer.url, timeout=10) as http:
            while not stop.is_set():
                statuses.append(http.get(f"/api/products/{product['id']}").status_code)
                statuses.append(http.get("/api/products", params={"limit": 20}).status_code)

    loader = threading.Thread(target=read_load)
    loader.start()
    try:
        time.sleep(1)
        cluster.redis.stop()
        time.sleep(3)
        degraded = httpx.get(cluster.a.url + "/readyz")
        assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
        cluster.redis = start_redis(cluster.redis.port)
        time.sleep(3)  # the breaker closes and the cache fills again
    finally:
        stop.set()
        loader.join()
    assert len(statuses) > 50 and set(statuses) == {200}, {
        s: statuses.count(s) for s in set(statuses)
    }
    before = cache_hits(httpx.get(cluster.a.url + "/metrics").text)
    for _ in range(5):
        assert httpx.get(cluster.a.url + f"/api/products/{product['id']}").status_code == 200
    after = cache_hits(httpx.get(cluster.a.url + "/metrics").text)
    assert after >= before + 4  # served from Redis again, without a restart
    assert httpx.get(cluster.a.url + "/readyz").json()["status"] == "ok"
