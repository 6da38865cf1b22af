"""The shop's metrics as CloudWatch embedded-metric-format lines on stdout (for functions).

A function has no scrape target and is frozen between requests, so each request's metrics are
written (flushed) when it ends; Lambda sends stdout to CloudWatch Logs, which turns the lines into
metrics. aws-lambda-powertools writes the format.
"""

from __future__ import annotations

from decimal import Decimal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "cloudmall"
SERVICE = "shop"


class CloudWatchMetrics:
    def __init__(self, *, namespace: str = NAMESPACE, service: str = SERVICE) -> None:
        self._emf = Metrics(namespace=namespace, service=service)
        self._pending = 0
        self._hits = 0
        self._misses = 0

    def _add(self, name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
        self._emf.add_metric(name=name, unit=unit, value=value)
        self._pending += 1

    def flush(self) -> None:
        """Write what was added since the last flush as one EMF line (none if nothing was)."""
        if self._pending:
            self._pending = 0
            self._emf.flush_metrics()

    def cache_hit(self, kind: str) -> None:
        self._hits += 1
        self._add("CatalogCacheHits", 1)

    def cache_miss(self, kind: str) -> None:
        self._misses += 1
        self._add("CatalogCacheMisses", 1)

    def cache_error(self) -> None:
        self._add("CacheErrors", 1)

    def order_placed(self, amount: Decimal) -> None:
        self._add("OrdersPlaced", 1)
        self._add("OrderAmount", float(amount), MetricUnit.NoUnit)

    def stock_out(self) -> None:
        self._add("StockOuts", 1)

    def order_group(self, size: int, outcome: str) -> None:
        self._add("OrderGroupSize", size)

    def payment(self, outcome: str) -> None:
        self._add(f"Payments{outcome.capitalize()}", 1)

    def access_board_unavailable(self) -> None:
        self._add("AccessBoardErrors", 1)

    def request_started(self) -> None:
        """Nothing to count: a function serves one request at a time."""

    def request_finished(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self._emf.add_metadata(key="route", value=f"{method} {route}")
        self._add("RequestLatency", seconds * 1000, MetricUnit.Milliseconds)
        self._add(f"Responses{status // 100}xx", 1)
        self.flush()

    def cache_hit_ratio(self) -> float | None:
        total = self._hits + self._misses
        return round(self._hits / total, 4) if total else None

    def exposition(self) -> None:
        """No scrape target: the lines went to stdout."""
        return None
