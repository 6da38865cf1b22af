"""The benchmark report's pure functions: parsing wrk/locust/Prometheus output, verdicts."""

from __future__ import annotations

import pytest
from bench import report

# wrk pads short durations with a trailing space ("1.20s ")
WRK_ORDER = (
    (
        "Running 5s test @ http://127.0.0.1:60555/api/orders\n"
        "  1 threads and 100 connections\n"
        "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
        "    Latency   990.66ms  423.50ms   2.00s    68.64%\n"
        "    Req/Sec    89.57     80.82   323.00     85.00%\n"
        "  Latency Distribution\n"
        "     50%  902.22ms\n"
        "     75%    1.20s \n"
        "     90%    1.69s \n"
        "     99%    1.99s \n"
    )
    + """\
  384 requests in 5.02s, 292.42KB read
  Socket errors: connect 0, read 2, write 0, timeout 30
  Non-2xx or 3xx responses: 7
Requests/sec:     76.49
Transfer/sec:     58.25KB
bench-status 2xx=377 3xx=0 4xx=5 5xx=2 other=0
bench-latency p95=1843210
"""
)

WRK_PLAIN = """\
Running 2s test @ http://127.0.0.1:46293/api/products
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  105.70us 457.10ms   61.23%
    Req/Sec   341.00    182.89   767.00     75.00%
  681 requests in 2.01s, 1.50GB read
Requests/sec:    338.74
Transfer/sec:     95.22KB
"""


def test_wrk_durations_in_milliseconds() -> None:
    assert report.duration_ms("812.00us") == pytest.approx(0.812)
    assert report.duration_ms("1.23ms") == pytest.approx(1.23)
    assert report.duration_ms("1.02s") == pytest.approx(1020)
    assert report.duration_ms("2.00m") == pytest.approx(120_000)
    with pytest.raises(ValueError):
        report.duration_ms("fast")


def test_parse_wrk_with_latency_errors_and_our_status_line() -> None:
    result = report.parse_wrk(WRK_ORDER)
    assert result.requests == 384
    assert result.seconds == pytest.approx(5.02)
    assert result.rps == pytest.approx(76.49)
    assert result.p50_ms == pytest.approx(902.22)
    assert result.p75_ms == pytest.approx(1200)
    assert result.p99_ms == pytest.approx(1990)
    assert result.p95_ms == pytest.approx(1843.21)  # from the Lua script's done()
    assert (result.read_errors, result.timeouts, result.non_2xx_3xx) == (2, 30, 7)
    assert result.errors == 39
    assert result.status == {"2xx": 377, "3xx": 0, "4xx": 5, "5xx": 2, "other": 0}
    assert result.bytes_read == round(292.42 * 1024)


def test_parse_wrk_without_latency_or_errors() -> None:
    result = report.parse_wrk(WRK_PLAIN)
    assert result.p50_ms is None and result.p99_ms is None and result.p95_ms is None
    assert result.errors == 0 and result.status is None
    assert result.bytes_read == round(1.5 * 1024**3)


def test_parse_wrk_refuses_output_without_a_summary() -> None:
    with pytest.raises(ValueError):
        report.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/api",
        "http://localhost:3000/",
        "http://127.1.2.3/",
        "http://[::1]:80/",
    ],
)
def test_loopback_targets_are_allowed(url: str) -> None:
    assert report.require_loopback(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000/",
        "http://example.com/",
        "http://127.0.0.1.evil.com/",
        "ftp://127.0.0.1/",
    ],
)
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(report.NotLoopback):
        report.require_loopback(url)


def test_proc_counters() -> None:
    stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    assert report.proc_stat_cpu(stat) == (1000, 850)
    assert report.busy_share((1000, 850), (2000, 1350)) == pytest.approx(0.5)
    assert report.busy_share((1000, 850), (1000, 850)) is None
    netstat = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 42 43\n"
    assert report.listen_overflows(netstat) == 42


METRICS_BEFORE = """\
# HELP cloudmall_cache_requests_total Catalogue cache lookups.
# TYPE cloudmall_cache_requests_total counter
cloudmall_cache_requests_total{kind="list",result="hit"} 10.0
cloudmall_cache_requests_total{kind="list",result="miss"} 2.0
cloudmall_cache_errors_total 0.0
"""
METRICS_AFTER = """\
cloudmall_cache_requests_total{kind="list",result="hit"} 100.0
cloudmall_cache_requests_total{kind="list",result="miss"} 4.0
cloudmall_cache_requests_total{kind="product",result="hit"} 8.0
cloudmall_cache_requests_total{kind="product",result="miss"} 8.0
"""


def test_cache_hit_ratio_is_a_delta_over_the_run() -> None:
    delta = report.cache_delta(METRICS_BEFORE, METRICS_AFTER)
    assert delta["kinds"]["list"] == {"hit": 90.0, "miss": 2.0}
    assert delta["kinds"]["product"] == {"hit": 8.0, "miss": 8.0}
    assert delta["hits"] == 98.0 and delta["lookups"] == 108.0
    assert delta["ratio"] == pytest.approx(98 / 108)
    assert report.cache_delta("", "")["ratio"] is None


LOCUST_CSV = (
    (
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    )
    + """\
GET,/api/products,308,0,8,20.1,1.2,332.0,61000,11.8,0.0,8,12,19,27,55,91,120,140,330,330,330
,Aggregated,3582,3,5,14.0,0.9,599.0,9000,137.0,0.1,5,12,19,27,55,90,150,230,380,600,600
"""
)


def test_parse_locust_stats() -> None:
    rows = report.parse_locust_stats(LOCUST_CSV)
    assert [r["name"] for r in rows] == ["/api/products", "Aggregated"]
    agg = rows[1]
    assert (agg["requests"], agg["failures"], agg["p95_ms"], agg["p99_ms"]) == (3582, 3, 90, 230)
    assert agg["rps"] == pytest.approx(137.0)


def _wrk(rps: float, timeouts: int = 0) -> dict[str, object]:
    return report.WrkResult(
        requests=1000, seconds=30, rps=rps, p50_ms=10, p75_ms=12, p90_ms=15, p99_ms=30,
        bytes_read=1, timeouts=timeouts,
    ).as_dict()  # fmt: skip


def _results() -> dict[str, object]:
    cons = {"products": 100, "units_out": 5, "units_ordered": 5, "orders": 5, "cancelled": 0,
            "negative_stock": 0, "holds": True}  # fmt: skip
    return {
        "catalogue": [
            {"server": "cloudmall-uvicorn", "variant": "list", "label": "list", "conns": 100,
             "wrk": _wrk(30_000), "round": 1},
            {"server": "cloudmall-uvicorn", "variant": "list", "label": "list", "conns": 100,
             "wrk": _wrk(20_000), "round": 2},
            {"server": "cloudmall-uvicorn", "variant": "list", "label": "list", "conns": 100,
             "wrk": _wrk(29_000), "round": 3},
            {"server": "express", "variant": "list", "label": "list", "conns": 100,
             "wrk": _wrk(2_800)},
            {"server": "cloudmall-uvicorn", "variant": "list", "label": "list", "conns": 1000,
             "wrk": _wrk(31_000, timeouts=1)},
            {"server": "express", "variant": "list", "label": "list", "conns": 1000,
             "wrk": _wrk(2_500)},
        ],
        "order": [
            {"server": "cloudmall-uvicorn", "variant": "order", "label": "real", "conns": 100,
             "wrk": _wrk(3_300), "conservation": cons},
            {"server": "express", "variant": "order", "label": "insert", "conns": 100,
             "wrk": _wrk(3_200)},
        ],
        "users": None,
        "scaling": [{"workers": 1, "conns": 100, "wrk": _wrk(6_000)},
                    {"workers": 2, "conns": 100, "wrk": _wrk(11_000)}],
        "peak_rss_mb": 180.0,
        "failures": [],
        "notes": [],
    }  # fmt: skip


def test_verdicts() -> None:
    verdicts = {v.check: v for v in report.judge(_results())}
    # the median round (29,000) against the peer: 10.4×; the slow round alone would be 7.1×
    assert verdicts["catalogue on uvicorn, 100 connections"].passed is True
    assert (
        "rounds 20,000, 29,000, 30,000"
        in verdicts["catalogue on uvicorn, 100 connections"].measured
    )
    assert verdicts["catalogue on uvicorn, 1000 connections"].passed is False  # 12× but a timeout
    assert verdicts["order on uvicorn, 100 connections"].passed is True  # 1.03×, conserved
    assert verdicts["catalogue on granian, 100 connections"].passed is None  # not measured
    assert verdicts["scaling: 1 → 2 workers"].passed is True
    assert verdicts["peak RSS per worker (whole run)"].passed is True
    assert verdicts["users: p95"].passed is None  # not measured
    assert {v.mark for v in verdicts.values()} == {"PASS", "FAIL", "n/a"}


def test_an_order_below_the_peer_fails() -> None:
    results = _results()
    results["order"][0]["wrk"] = _wrk(3_100)  # type: ignore[index]
    verdicts = {v.check: v for v in report.judge(results)}
    assert verdicts["order on uvicorn, 100 connections"].passed is False  # 0.97×


def test_broken_conservation_fails_the_order_check() -> None:
    results = _results()
    results["order"][0]["conservation"]["holds"] = False  # type: ignore[index]
    verdicts = {v.check: v for v in report.judge(results)}
    assert verdicts["order on uvicorn, 100 connections"].passed is False


def test_render_has_the_threshold_table_and_the_commands() -> None:
    results = _results()
    results["meta"] = {
        "quick": False, "command": "make bench", "results_file": "docs/bench/results.json",
        "results_link": "bench/results.json", "date": "2026-11-27 06:00 UTC", "elapsed_s": 600,
        "git": {"branch": "bench", "commit": "abc", "dirty": False},
        "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "ram_gib": 23.5, "kernel": "6.1",
                    "os": "Debian", "nofile": 20000},
        "idle_check": {"busy": 0.02, "seconds": 3, "top": []},
        "versions": {"Python": "3.11.7"},
        "shop": {"description": "cloudmall", "list_bytes": 61686, "list_items": 100},
        "peer": {"description": "Express", "list_bytes": 40050},
        "wrk": {"duration": "30s", "warmup": "5s", "pause": 5, "timeout": "2s"},
        "commands": ["wrk -t1 -c100 -d30s --timeout 2s --latency http://127.0.0.1:1/api/products"],
    }  # fmt: skip
    text = report.render(results, {"catalogue": "bench/catalogue.png"})
    assert (
        "| catalogue on uvicorn, 100 connections |" in text
        and "**PASS**" in text
        and "**FAIL**" in text
    )
    assert "wrk -t1 -c100 -d30s" in text
    assert "![catalogue throughput and latency](bench/catalogue.png)" in text
    assert "**29,000**" in text and "list, round 3" in text


def test_top_functions_from_collapsed_stacks() -> None:
    collapsed = (
        "main (/x/lib/python3.11/site-packages/uvicorn/server.py:1);"
        "handle (/w/src/cloudmall/web/app.py:9);dumps (/x/site-packages/orjson.py:3) 30\n"
        "main (/x/lib/python3.11/site-packages/uvicorn/server.py:1);"
        "handle (/w/src/cloudmall/web/app.py:9) 10\n"
    )
    samples, own, total, ours = report.top_functions(collapsed)
    assert samples == 40
    assert own[0] == ("dumps (orjson.py:3)", 30)
    assert ("main (uvicorn/server.py:1)", 40) in total
    assert ours == [("handle (cloudmall/web/app.py:9)", 40)]


def test_commands_are_shown_repo_relative_with_id_lists_shortened() -> None:
    command = "wrk -s /repo/bench/lua/order.lua http://127.0.0.1:1/ -- t.txt " + ",".join(
        str(i) for i in range(1, 101)
    )
    shown = report.display_command(command, "/repo")
    assert shown == "wrk -s bench/lua/order.lua http://127.0.0.1:1/ -- t.txt 1,…,100"


def test_an_order_row_that_could_not_settle_says_so() -> None:
    settled = {"busy": 0.05, "waited_s": 12.4, "quiet": True, "backlog": 0}
    unsettled = {"busy": 0.51, "waited_s": 60.2, "quiet": False, "backlog": 21_000}
    lines = report._settle_lines(
        [
            {"server": "express", "round": 1, "settle": settled},
            {"server": "cloudmall-uvicorn", "round": 2, "settle": unsettled},
            {"server": "cloudmall-granian", "round": 1},
        ]
    )
    assert lines == [
        "- Express peer, round 1: waited 12 s before the run; machine 5 % busy, 0 events of the "
        "shop's outbox still without their mail",
        "- cloudmall on uvicorn, round 2: waited 60 s before the run; machine 51 % busy, 21,000 "
        "events of the shop's outbox still without their mail — **not settled**: the row was "
        "measured beside that work",
    ]


def test_the_order_verdict_counts_settled_rounds_only() -> None:
    """A round measured beside the shop's mail work (the peer's or ours) is left out of the
    ratio; with no settled round of one side there is no verdict."""
    unsettled = {"busy": 0.51, "waited_s": 60.0, "quiet": False, "backlog": 9_000}
    settled = {"busy": 0.03, "waited_s": 20.0, "quiet": True, "backlog": 0}
    results = _results()
    orders = results["order"]  # type: ignore[index]
    orders[1]["settle"] = settled  # the peer's 3,200, settled
    orders.append({**orders[1], "wrk": _wrk(1_600), "settle": unsettled})  # slowed by our mail
    orders.append({**orders[1], "wrk": _wrk(1_500), "settle": unsettled})
    verdict = {v.check: v for v in report.judge(results)}["order on uvicorn, 100 connections"]
    assert verdict.passed is True  # 3,300 vs the settled 3,200, not vs the median 1,600
    assert "3,300 vs 3,200 req/s = 1.03×" in verdict.measured
    assert "2 of 4 rows measured beside the shop's mail work left out" in verdict.measured
    orders[1]["settle"] = unsettled
    verdict = {v.check: v for v in report.judge(results)}["order on uvicorn, 100 connections"]
    assert verdict.passed is None and "no settled round" in verdict.measured
