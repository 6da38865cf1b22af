"""One order followed across the services topology in one trace (`CLOUDMALL_TRACING=console`):
a customer whose client traces sends one W3C traceparent with each request; the orders service
continues it, calls products over HTTP in it, and records `order.cancelled` with it, so the
products service's handling of that event, through the relay and the broker, is in the trace
too, under the orders service's span."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cloudmall.config import ServiceName
from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import ADDRESS
from tests.topology import Topology, run_topology

pytestmark = pytest.mark.e2e

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    # Each batch of spans leaves within 0.2 s (the default waits 5 s).
    with run_topology(
        tmp_path_factory.mktemp("traced"),
        CLOUDMALL_TRACING="console",
        OTEL_BSP_SCHEDULE_DELAY="200",
    ) as running:
        yield running


def spans_in(log: str) -> list[dict[str, Any]]:
    """The spans the console exporter printed (each an indented JSON object from a "{" line
    to a "}" line), among the log's other lines."""
    spans, lines = [], None
    for line in log.splitlines():
        if line == "{":
            lines = [line]
        elif lines is not None:
            lines.append(line)
            if line == "}":
                spans.append(json.loads("\n".join(lines)))
                lines = None
    return spans


def in_trace(topology: Topology, service: ServiceName) -> list[dict[str, Any]]:
    return [
        span
        for span in spans_in(topology.services[service].log())
        if span["context"]["trace_id"] == f"0x{TRACE}"
    ]


def test_an_orders_cancel_is_handled_by_products_in_the_orders_trace(topology: Topology) -> None:
    gateway = topology.gateway
    product = create_product(log_in_admin(gateway), stock=5)
    shopper = sign_up(gateway)
    traced = {"traceparent": TRACEPARENT, "X-Request-Id": "traced-order"}
    placed = shopper.post(
        "/api/orders",
        json={"items": [{"productId": product["id"], "quantity": 1}], "address": ADDRESS},
        headers=traced,
    )
    assert placed.status_code == 201, placed.text
    cancelled = shopper.post(f"/api/orders/{placed.json()['orderId']}/cancel", headers=traced)
    assert cancelled.status_code == 200, cancelled.text

    deadline = time.monotonic() + 30
    while not [
        s for s in in_trace(topology, ServiceName.PRODUCTS) if s["name"] == "handle order.cancelled"
    ]:
        assert time.monotonic() < deadline, "products' handling of order.cancelled not traced"
        time.sleep(0.2)
    orders = in_trace(topology, ServiceName.ORDERS)
    products = in_trace(topology, ServiceName.PRODUCTS)
    assert {"POST /api/orders", "POST /api/orders/{order_id}/cancel"} <= {
        s["name"] for s in orders if s["kind"] == "SpanKind.SERVER"
    }
    # Synchronously (the reservation, over HTTP) and through the broker (the event).
    assert any(s["kind"] == "SpanKind.SERVER" for s in products)
    [handling] = [s for s in products if s["name"] == "handle order.cancelled"]
    assert handling["parent_id"] in {s["context"]["span_id"] for s in orders}
    assert handling["attributes"]["cloudmall.request_id"] == "traced-order"
