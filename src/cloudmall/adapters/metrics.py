"""Prometheus series for the shop (prometheus-client), multi-process aware."""

from __future__ import annotations

import os
from decimal import Decimal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_LATENCY = Histogram(
    "cloudmall_http_request_duration_seconds",
    "HTTP request latency by route template and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
REQUESTS_IN_PROGRESS = Gauge(
    "cloudmall_http_requests_in_progress",
    "HTTP requests being served now (a draining process shows them finish).",
    multiprocess_mode="livesum",
)
CACHE_REQUESTS = Counter(
    "cloudmall_cache_requests_total", "Catalogue cache lookups.", ["kind", "result"]
)
CACHE_ERRORS = Counter("cloudmall_cache_errors_total", "Cache calls that failed (cache down).")
ORDERS_PLACED = Counter("cloudmall_orders_placed_total", "Orders placed.")
ORDER_REVENUE = Counter("cloudmall_order_amount_total", "Sum of placed orders' totals.")
STOCK_OUTS = Counter("cloudmall_stock_outs_total", "Orders refused for lack of stock.")
ORDER_GROUPS = Histogram(
    "cloudmall_order_group_size",
    "Orders per group-commit transaction, by outcome (placed_alone: the group went back).",
    ["outcome"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
PAYMENTS = Counter("cloudmall_payments_total", "Payment attempts by outcome.", ["outcome"])
ACCESS_BOARD_ERRORS = Counter(
    "cloudmall_access_board_errors_total",
    "Access checks that believed the token alone: the access board did not answer.",
)


class PrometheusMetrics:
    """The shop's series in this process's registry (or the workers' shared folder)."""

    def __init__(self) -> None:
        # Per-request series' children, found once: `.labels()` (label checks, a lock, a
        # lookup) cost more per catalogue answer than the mmap writes themselves. The keys are
        # the series' label values, which prometheus-client keeps for as long anyway.
        self._latency: dict[tuple[str, str, int], Histogram] = {}
        self._cache: dict[tuple[str, str], Counter] = {}

    def request_started(self) -> None:
        REQUESTS_IN_PROGRESS.inc()

    def request_finished(self, *, method: str, route: str, status: int, seconds: float) -> None:
        REQUESTS_IN_PROGRESS.dec()
        key = (method, route, status // 100)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = REQUEST_LATENCY.labels(method, route, f"{key[2]}xx")
        child.observe(seconds)

    def cache_hit_ratio(self) -> float | None:
        return cache_hit_ratio()

    def exposition(self) -> tuple[bytes, str]:
        """Across all worker processes when PROMETHEUS_MULTIPROC_DIR is set."""
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def cache_hit(self, kind: str) -> None:
        self._cache_child(kind, "hit").inc()

    def cache_miss(self, kind: str) -> None:
        self._cache_child(kind, "miss").inc()

    def _cache_child(self, kind: str, result: str) -> Counter:
        child = self._cache.get((kind, result))
        if child is None:
            child = self._cache[kind, result] = CACHE_REQUESTS.labels(kind, result)
        return child

    def cache_error(self) -> None:
        CACHE_ERRORS.inc()

    def order_placed(self, amount: Decimal) -> None:
        ORDERS_PLACED.inc()
        ORDER_REVENUE.inc(float(amount))

    def stock_out(self) -> None:
        STOCK_OUTS.inc()

    def order_group(self, size: int, outcome: str) -> None:
        ORDER_GROUPS.labels(outcome).observe(size)

    def payment(self, outcome: str) -> None:
        PAYMENTS.labels(outcome).inc()

    def access_board_unavailable(self) -> None:
        ACCESS_BOARD_ERRORS.inc()


def cache_hit_ratio() -> float | None:
    """This process's catalogue cache hit ratio so far, or None before any lookup."""
    hits = misses = 0.0
    for metric in CACHE_REQUESTS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                if sample.labels.get("result") == "hit":
                    hits += sample.value
                else:
                    misses += sample.value
    total = hits + misses
    return round(hits / total, 4) if total else None
