"""Run by tests/integration/test_tracing.py in a fresh interpreter (tracing is per process, and
instruments libraries for good): an order placed through the real app, with tracing on (spans
also kept in memory) or off; what the process saw, as JSON in the file named last.

    python -m tests.tracing_probe on|off VAR_DIR DATABASE_URL OUT.json
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cloudmall.bootstrap import build_tracing, migrate
from cloudmall.config import Settings
from cloudmall.services.commands import MakeAdmin
from cloudmall.services.request_context import current_request_id
from cloudmall.services.shop import Shop
from cloudmall.web.app import create_app
from cloudmall.web.server import _log_config
from tests.e2e.client import CONSENT

PASSWORD = "a long enough passphrase"
#: A caller's trace: the W3C traceparent of a span the shop never saw.
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


def place_an_order(client: TestClient) -> None:
    """An admin's product, a customer's sign-up, then one POST /api/orders (request id
    `probe-order`)."""
    shop: Shop = client.app.state.shop  # type: ignore[attr-defined]
    client.portal.call(shop.handle, MakeAdmin("staff@example.com", PASSWORD, "직원"))  # type: ignore[union-attr]
    admin = client.post(
        "/api/auth/login", json={"email": "staff@example.com", "password": PASSWORD}
    )
    admin_auth = {"Authorization": f"Bearer {admin.json()['access_token']}"}
    product = client.post(
        "/api/products",
        json={"name": "Probe", "price": "1000.00", "category": "general", "stock_quantity": 5},
        headers=admin_auth,
    )
    assert product.status_code == 201, product.text
    customer = client.post(
        "/api/auth/signup",
        json={"email": "kim@example.com", "password": PASSWORD, "name": "Kim", "consent": CONSENT},
    )
    auth = {"Authorization": f"Bearer {customer.json()['access_token']}"}
    order = client.post(
        "/api/orders",
        json={"items": [{"productId": product.json()["id"], "quantity": 1}]},
        headers={**auth, "X-Request-Id": "probe-order"},
    )
    assert order.status_code == 201, order.text


def spans_of(exporter: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": span.name,
            "kind": span.kind.name,
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
            "attributes": {key: str(value) for key, value in (span.attributes or {}).items()},
            "links": [format(link.context.span_id, "016x") for link in span.links],
        }
        for span in exporter.get_finished_spans()
    ]


def handled_in_time(exporter: Any, name: str, seconds: float = 30.0) -> None:
    """Wait until a span `name` has ended (a background reader's, every mail_poll_seconds)."""
    deadline = time.monotonic() + seconds
    while not any(span.name == name for span in exporter.get_finished_spans()):
        assert time.monotonic() < deadline, f"no span {name!r} within {seconds} s"
        time.sleep(0.1)


def traced(settings: Settings) -> dict[str, Any]:
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracing = build_tracing(settings)
    assert tracing is not None
    exporter = InMemorySpanExporter()
    tracing.provider.add_span_processor(SimpleSpanProcessor(exporter))
    logging.config.dictConfig(_log_config())
    with TestClient(create_app(settings)) as client:
        place_an_order(client)
        handled_in_time(exporter, "handle order.placed")  # by the mail reader, in the background
        order = spans_of(exporter)
        exporter.clear()
        continued = client.get("/api/products", headers={"traceparent": TRACEPARENT})
        assert continued.status_code == 200
        caller = spans_of(exporter)
    with trace.get_tracer("probe").start_as_current_span("probe log") as span:
        token = current_request_id.set("probe-log")
        logging.getLogger("cloudmall.probe").warning("a line to correlate")
        current_request_id.reset(token)
        log_trace_id = format(span.get_span_context().trace_id, "032x")
    return {"order": order, "caller": caller, "log_trace_id": log_trace_id}


def untraced(settings: Settings) -> dict[str, Any]:
    with TestClient(create_app(settings)) as client:
        place_an_order(client)
    from opentelemetry import trace  # FastAPI's own dependency; the API alone, no SDK

    return {
        "modules": sorted(
            name
            for name in sys.modules
            if name.startswith(
                (
                    "opentelemetry.sdk",
                    "opentelemetry.instrumentation",
                    "opentelemetry.exporter",
                    "cloudmall.adapters.tracing",
                )
            )
        ),
        "provider": type(trace.get_tracer_provider()).__name__,
        "record_factory_is_logging's": logging.getLogRecordFactory() is logging.LogRecord,
    }


def main() -> None:
    mode, var_dir, database_url, out = sys.argv[1:]
    settings = Settings(
        environment="test",
        var_dir=Path(var_dir),
        database_url=database_url,
        secret_key="tracing-" + "0123456789abcdef" * 4,
        tracing="console" if mode == "on" else "off",
    )
    asyncio.run(migrate(settings))
    result = traced(settings) if mode == "on" else untraced(settings)
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
