"""`CLOUDMALL_TRACING=console` on a real server of two workers, on either HTTP server: each
worker starts its own tracer provider and, stopped by SIGTERM, prints its spans before it exits
(their batch would otherwise wait 5 s, longer than the test)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import shop_env
from tests.support import HTTP_SERVERS, scratch_database, start_server, stop_server

pytestmark = pytest.mark.e2e

REQUESTS = 8


@pytest.mark.parametrize("server", HTTP_SERVERS)
def test_each_worker_prints_its_spans_when_it_stops(tmp_path: Path, server: str) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        env = shop_env(
            url, tmp_path, CLOUDMALL_TRACING="console", OTEL_SERVICE_NAME="cloudmall-smoke"
        )
        live = start_server(env, tmp_path, workers=2, server=server)
        try:
            for number in range(REQUESTS):
                # A connection each: the kernel spreads them over both workers' sockets.
                answer = httpx.get(
                    f"{live.url}/api/products", headers={"X-Request-Id": f"smoke-{number}"}
                )
                assert answer.status_code == 200
        finally:
            stop_server(live)
    log = live.log()
    for number in range(REQUESTS):
        assert f'"cloudmall.request_id": "smoke-{number}"' in log
    assert log.count('"name": "GET /api/products"') == REQUESTS
    assert '"service.name": "cloudmall-smoke"' in log
    assert '"/readyz"' not in log  # the health checks that waited for the server: untraced
