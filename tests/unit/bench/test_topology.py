"""bench/topology.py: the p95 wrk's Lua prints, the errors counted, the medians and the ratios
set against the issue's targets."""

from __future__ import annotations

from typing import Any

from bench.topology import errors, markdown, p95_ms, summary, verdict

WRK_TAIL = """Requests/sec:   2175.31
Transfer/sec:     40.12MB
bench-status 2xx=10968 3xx=0 4xx=2 5xx=1 other=0
bench-latency p95=162512
"""


def wrk(**status: int) -> dict[str, Any]:
    return {"connect_errors": 0, "read_errors": 1, "write_errors": 0, "timeouts": 2,
            "non_2xx_3xx": 3, "status": status or None}  # fmt: skip


def row(
    scenario: str, topology: str, rps: float, p95: float | None, errors: int = 0
) -> dict[str, Any]:
    return {"scenario": scenario, "topology": topology, "rps": rps, "p50_ms": p95 and p95 / 2,
            "p95_ms": p95, "p99_ms": p95 and p95 * 2, "errors": errors}  # fmt: skip


def test_the_p95_is_read_from_the_status_scripts_line_in_milliseconds() -> None:
    assert p95_ms(WRK_TAIL) == 162.512
    assert p95_ms("Requests/sec: 1.0\n") is None


def test_errors_count_socket_errors_and_every_answer_but_2xx() -> None:
    assert errors(wrk(**{"2xx": 100, "3xx": 0, "4xx": 4, "5xx": 5, "other": 0})) == 12
    assert errors(wrk()) == 6  # no script counted: wrk's own non-2xx/3xx figure


def test_the_summary_takes_each_columns_median_and_keeps_every_round() -> None:
    rows = [
        row("catalogue", "monolith", 3000, 70),
        row("catalogue", "monolith", 2500, 90, errors=1),
        row("catalogue", "monolith", 2600, 60),
        row("order", "services", 60, None),
        row("order", "services", 70, 300),
    ]
    found = {(r["scenario"], r["topology"]): r for r in summary(rows)}
    mono = found["catalogue", "monolith"]
    assert (mono["rps"], mono["p95_ms"], mono["errors"]) == (2600, 70, 1)
    assert mono["rounds"] == [3000, 2500, 2600]
    assert found["order", "services"]["p95_ms"] == 300  # a round without a p95 is left out
    assert ("catalogue", "services") not in found


def test_the_verdict_sets_the_ratios_against_the_targets() -> None:
    medians = [
        row("catalogue", "monolith", 2000, 50),
        row("catalogue", "services", 999, 80),
        row("order", "monolith", 60, 200),
        row("order", "services", 50, 400),
    ]
    found = verdict(medians)
    assert (found.catalogue_ratio, found.order_p95_ratio) == (0.4995, 2.0)
    assert not found.catalogue_met
    assert found.order_met
    medians[1]["rps"] = 1000
    medians[3]["p95_ms"] = 401
    assert verdict(medians).catalogue_met
    assert not verdict(medians).order_met


def test_the_report_quotes_the_ratios_and_whether_each_target_is_met() -> None:
    medians = [
        {**row("catalogue", "monolith", 2568, 71.6), "rounds": [3277, 2344, 2568]},
        {**row("catalogue", "services", 1996, 162.5), "rounds": [2175, 1996, 1863]},
        {**row("order", "monolith", 67, 400.1), "rounds": [69, 67, 56]},
        {**row("order", "services", 67, 304.8), "rounds": [61, 67, 93]},
    ]
    meta = {
        "date": "2026-12-02 14:55 UTC", "command": "make bench-services",
        "machine": {"nproc": 2, "cpu_model": "AMD EPYC"}, "load_before": "1.90, 3.08, 4.66",
        "load_during": "7.71–9.29", "load_after": "9.00, 5.96, 5.48", "idle_busy": 0.42,
        "rounds": 3, "service_workers": 1, "wrk": {"duration": "5s", "warmup": "2s"},
        "stock_conservation": {"services": {"units_out": 5, "units_ordered": 5, "orders": 5,
                                            "holds": True}},
    }  # fmt: skip
    text = markdown(meta, medians, verdict(medians))
    assert "42 % busy in the 1 s pauses" in text
    assert "monolith 2 workers, services 1 worker(s) each + nginx" in text
    assert "| catalogue, cached (GET /api/products) | 100 | services | 1,996 |" in text
    assert "services ÷ monolith: **0.78** (target ≥ 0.5: met)" in text
    assert "services ÷ monolith: **0.76** (target ≤ 2: met)" in text
    assert "stock conservation, services: 5 units out of stock, 5 in 5 orders (holds)" in text
