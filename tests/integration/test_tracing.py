"""OpenTelemetry tracing through the real app on each SQL backend: one order is one trace (the
server span, the order group's span, its SQL statements), the request id is on the server span,
a caller's W3C traceparent is continued, the order's event is handled in the order's trace, a
log line names its trace and span; and with tracing
off nothing of OpenTelemetry's SDK is loaded and no library is patched.

Each case runs tests/tracing_probe.py in a fresh interpreter: tracing is per process and
instruments libraries for the rest of it, which must not leak into the other tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import BACKENDS, REPO_ROOT, scratch_database
from tests.tracing_probe import CALLER_SPAN, CALLER_TRACE


@dataclass(frozen=True)
class Probe:
    seen: dict[str, Any]
    stderr: str


def run_probe(mode: str, tmp_path: Path, database_url: str) -> Probe:
    out = tmp_path / f"probe-{mode}.json"
    finished = subprocess.run(
        [sys.executable, "-m", "tests.tracing_probe", mode, str(tmp_path), database_url, str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return Probe(json.loads(out.read_text()), finished.stderr)


@pytest.fixture(scope="module", params=BACKENDS)
def traced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Probe]:
    tmp_path = tmp_path_factory.mktemp(f"traced-{request.param}")
    with scratch_database(request.param, tmp_path) as url:
        yield run_probe("on", tmp_path, url)


def _server_span(spans: list[dict[str, Any]], route: str) -> dict[str, Any]:
    [span] = [s for s in spans if s["kind"] == "SERVER" and s["attributes"]["http.route"] == route]
    return span


def _order_request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The order's server span (its event's handling has the request id too)."""
    [span] = [
        s
        for s in spans
        if s["kind"] == "SERVER" and s["attributes"].get("cloudmall.request_id") == "probe-order"
    ]
    return span


def _descends_from(
    span: dict[str, Any], ancestor: dict[str, Any], spans: list[dict[str, Any]]
) -> bool:
    by_id = {s["span_id"]: s for s in spans}
    parent = span["parent_id"]
    while parent is not None:
        if parent == ancestor["span_id"]:
            return True
        parent = by_id[parent]["parent_id"] if parent in by_id else None
    return False


def test_an_order_is_one_trace_of_its_server_span_group_and_sql(traced: Probe) -> None:
    spans = traced.seen["order"]
    server = _order_request(spans)
    assert (server["kind"], server["name"], server["parent_id"]) == (
        "SERVER",
        "POST /api/orders",
        None,
    )
    trace = [s for s in spans if s["trace_id"] == server["trace_id"]]
    [group] = [s for s in trace if s["name"] == "order group"]
    assert group["parent_id"] == server["span_id"]
    assert group["attributes"]["cloudmall.order_group.size"] == "1"
    sql = [s for s in trace if s["kind"] == "CLIENT"]
    assert {s["name"].split()[0] for s in sql} >= {"SELECT", "INSERT", "UPDATE"}
    assert all(_descends_from(s, server, spans) for s in sql)
    # The order's INSERTs ran in the group's transaction, as the group span's children.
    assert any(s["parent_id"] == group["span_id"] and s["name"].startswith("INSERT") for s in sql)


def test_an_orders_event_is_handled_in_the_orders_trace(traced: Probe) -> None:
    """The outbox recorded `order.placed` with the request's trace context; the mail reader's
    handling of it (a background loop, later) is a span of that trace, under the request's."""
    spans = traced.seen["order"]
    server = _order_request(spans)
    [handling] = [s for s in spans if s["name"] == "handle order.placed"]
    assert handling["trace_id"] == server["trace_id"]
    assert _descends_from(handling, server, spans)
    assert handling["links"] == [handling["parent_id"]]  # (the producer's span, linked too)
    assert handling["attributes"]["cloudmall.request_id"] == "probe-order"


def test_every_request_has_its_own_trace_and_request_id(traced: Probe) -> None:
    servers = [s for s in traced.seen["order"] if s["kind"] == "SERVER"]
    assert len({s["trace_id"] for s in servers}) == len(servers) >= 4  # login .. order
    assert all(s["attributes"]["cloudmall.request_id"] for s in servers)


def test_a_callers_traceparent_is_continued(traced: Probe) -> None:
    spans = traced.seen["caller"]
    server = _server_span(spans, "/api/products")
    assert (server["trace_id"], server["parent_id"]) == (CALLER_TRACE, CALLER_SPAN)
    assert all(s["trace_id"] == CALLER_TRACE for s in spans)


def test_a_log_line_names_its_request_trace_and_span(traced: Probe) -> None:
    [line] = [line for line in traced.stderr.splitlines() if "a line to correlate" in line]
    assert f"request_id=probe-log trace_id={traced.seen['log_trace_id']} span_id=" in line
    assert " WARNING cloudmall.probe " in line


def test_with_tracing_off_nothing_is_loaded_or_patched(tmp_path: Path) -> None:
    probe = run_probe("off", tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    assert probe.seen == {
        "modules": [],
        "provider": "ProxyTracerProvider",  # the API's default: no SDK provider was set
        "record_factory_is_logging's": True,
    }
