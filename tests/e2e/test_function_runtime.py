"""The local function runtime (`cloudmall serve --runtime function`): two such processes on one
MariaDB, Redis and S3, behind nginx, as two Lambda containers behind API Gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import real_tiers_env, shop_env
from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import (
    LiveServer,
    Service,
    emf_total,
    scratch_database,
    start_nginx,
    start_server,
    stop_server,
)


@dataclass
class Pair:
    a: LiveServer
    b: LiveServer
    balancer: LiveServer


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, moto: Service) -> Iterator[Pair]:
    tmp_path: Path = tmp_path_factory.mktemp("functions")
    with scratch_database("mariadb", tmp_path) as url:
        env = shop_env(url, tmp_path, **real_tiers_env(moto))
        a = start_server(env, tmp_path, runtime="function")
        b = start_server(env, tmp_path, runtime="function")
        balancer_url, nginx = start_nginx([a.url, b.url], tmp_path)
        try:
            yield Pair(a, b, LiveServer(balancer_url, nginx.process, a.log_path, a.env, "function"))
        finally:
            nginx.stop()
            stop_server(a)
            stop_server(b)


def test_it_is_the_function_runtime(pair: Pair) -> None:
    for server in (pair.a, pair.b):
        answer = httpx.get(server.url + "/api/categories")
        assert answer.status_code == 200
        # Metrics leave as CloudWatch EMF lines on stdout, not as a scrape target.
        assert httpx.get(server.url + "/metrics").status_code == 404
        assert emf_total(server.log(), "Responses2xx") >= 1


def test_the_last_unit_goes_to_exactly_one_of_fifty_across_two_processes(pair: Pair) -> None:
    admin = log_in_admin(pair.balancer)
    product = create_product(admin, stock=1)
    shoppers = [sign_up(pair.balancer) for _ in range(5)]

    async def storm() -> list[int]:
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=pair.balancer.url, timeout=60, limits=limits) as http:
            gate = asyncio.Event()

            async def buy(index: int) -> int:
                await gate.wait()
                answer = await http.post(
                    "/api/orders",
                    json={"items": [{"productId": product["id"], "quantity": 1}]},
                    headers=shoppers[index % len(shoppers)].headers,
                )
                return answer.status_code

            tasks = [asyncio.create_task(buy(i)) for i in range(50)]
            await asyncio.sleep(0.05)
            gate.set()
            return await asyncio.gather(*tasks)

    statuses = asyncio.run(storm())
    assert statuses.count(201) == 1 and statuses.count(409) == 49, sorted(statuses)
    assert admin.get(f"/api/products/{product['id']}").json()["stock_quantity"] == 0
    served = [emf_total(server.log(), "Responses4xx") for server in (pair.a, pair.b)]
    assert all(count > 0 for count in served), served  # both processes answered the storm
    assert all("Traceback" not in server.log() for server in (pair.a, pair.b))
