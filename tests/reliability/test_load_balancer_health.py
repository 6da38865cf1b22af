"""The health check the ALB uses survives a database outage (an RDS Multi-AZ failover).

If it failed, every instance would turn unhealthy at once and the Auto Scaling group (ELB health
checks) would replace all of them during a 60-120 s failover, each repeating a full boot.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import shop_env
from tests.reliability.conftest import rounds
from tests.reliability.faultproxy import FaultProxy, Mode
from tests.reliability.test_faults import through
from tests.support import scratch_database, start_server, stop_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_balancer_health_check() -> tuple[str, float]:
    """The path and timeout the stack gives the ALB's target group (from the CDK code)."""
    sys.path.insert(0, str(REPO_ROOT / "infra"))
    from cloudmall_infra.web_tier import HEALTH_CHECK_PATH, HEALTH_CHECK_TIMEOUT_SECONDS

    return HEALTH_CHECK_PATH, HEALTH_CHECK_TIMEOUT_SECONDS


@pytest.mark.parametrize("mode", ["blackhole", "reset"])
def test_a_database_outage_leaves_the_load_balancer_health_check_at_200(
    mode: Mode, tmp_path: Path
) -> None:
    path, timeout = load_balancer_health_check()
    outage = rounds(full=20, ci=6)
    with scratch_database("mariadb", tmp_path) as url, FaultProxy(3306) as proxy:
        server = start_server(shop_env(through(url, proxy), tmp_path), tmp_path)
        try:
            http = httpx.Client(base_url=server.url, timeout=timeout)
            assert http.get(path).status_code == 200
            assert http.get("/readyz").status_code == 200
            proxy.set_mode(mode)
            deadline = time.monotonic() + outage
            checks = 0
            while time.monotonic() < deadline:
                assert http.get(path).status_code == 200  # within the ALB's timeout
                checks += 1
                time.sleep(0.5)
            assert checks >= 5
            # the outage was real: readiness (and so a new instance's first traffic) waits
            assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 503
            proxy.set_mode("pass")
            back = time.monotonic()
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() - back < 15, "not ready again within 15 s"
                time.sleep(0.2)
        finally:
            stop_server(server)
