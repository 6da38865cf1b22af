"""`CLOUDMALL_TRACING=console` on real servers. The batch of spans is set to leave only after
10 minutes (`OTEL_BSP_SCHEDULE_DELAY`), so every span seen in the log was flushed on purpose:
by each worker of a two-worker server as it stops on SIGTERM (either HTTP server), and by the
function at the end of each invocation, while it keeps running."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import shop_env
from tests.support import HTTP_SERVERS, scratch_database, start_server, stop_server

pytestmark = pytest.mark.e2e

REQUESTS = 8
#: The batch processor's own schedule, far beyond any test: only a flush exports.
TRACING = {
    "CLOUDMALL_TRACING": "console",
    "OTEL_SERVICE_NAME": "cloudmall-smoke",
    "OTEL_BSP_SCHEDULE_DELAY": "600000",
}


@pytest.mark.parametrize("server", HTTP_SERVERS)
def test_each_worker_prints_its_spans_when_it_stops(tmp_path: Path, server: str) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path, **TRACING), tmp_path, workers=2, server=server)
        try:
            for number in range(REQUESTS):
                # A connection each: the kernel spreads them over both workers' sockets.
                answer = httpx.get(
                    f"{live.url}/api/products", headers={"X-Request-Id": f"smoke-{number}"}
                )
                assert answer.status_code == 200
            assert '"name": "GET /api/products"' not in live.log()  # still in the batches
        finally:
            stop_server(live)
    log = live.log()
    for number in range(REQUESTS):
        assert f'"cloudmall.request_id": "smoke-{number}"' in log
    assert log.count('"name": "GET /api/products"') == REQUESTS
    assert '"service.name": "cloudmall-smoke"' in log
    assert '"/readyz"' not in log  # the health checks that waited for the server: untraced


def test_a_function_prints_its_spans_at_the_end_of_each_invocation(tmp_path: Path) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path, **TRACING), tmp_path, runtime="function")
        try:
            answer = httpx.get(f"{live.url}/api/products", headers={"X-Request-Id": "invoked"})
            assert answer.status_code == 200
            deadline = time.monotonic() + 20  # the log file is written by another process
            while '"cloudmall.request_id": "invoked"' not in live.log():
                assert time.monotonic() < deadline, live.log()[-3000:]
                time.sleep(0.2)
        finally:
            stop_server(live)
