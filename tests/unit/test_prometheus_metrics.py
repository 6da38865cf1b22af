"""PrometheusMetrics counts each request and cache lookup under its own labels."""

from __future__ import annotations

from prometheus_client import REGISTRY

from cloudmall.adapters.metrics import PrometheusMetrics

LATENCY = "cloudmall_http_request_duration_seconds_count"
CACHE = "cloudmall_cache_requests_total"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_and_lookups_count_under_their_own_labels_however_often_repeated() -> None:
    route = "/test/prometheus-metrics/{id}"
    before = {
        status: _value(LATENCY, method="GET", route=route, status=status)
        for status in ("2xx", "4xx")
    }
    hits_before = _value(CACHE, kind="test-kind", result="hit")
    misses_before = _value(CACHE, kind="test-kind", result="miss")
    in_progress = _value("cloudmall_http_requests_in_progress")
    metrics = PrometheusMetrics()
    for status in (200, 204, 404, 200):
        metrics.request_started()
        metrics.request_finished(method="GET", route=route, status=status, seconds=0.002)
    for _ in range(3):
        metrics.cache_hit("test-kind")
    metrics.cache_miss("test-kind")
    assert _value(LATENCY, method="GET", route=route, status="2xx") == before["2xx"] + 3
    assert _value(LATENCY, method="GET", route=route, status="4xx") == before["4xx"] + 1
    assert _value(CACHE, kind="test-kind", result="hit") == hits_before + 3
    assert _value(CACHE, kind="test-kind", result="miss") == misses_before + 1
    assert _value("cloudmall_http_requests_in_progress") == in_progress
