"""Pure functions: parse wrk, locust and Prometheus output, judge thresholds, render Markdown.

Nothing here starts a process or touches the network, so it is unit-tested (tests/unit/bench/).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class NotLoopback(ValueError):
    """The harness only loads servers on this machine."""


def require_loopback(url: str) -> str:
    """Return `url` if it points at 127.0.0.1 (or localhost/::1); refuse anything else."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not (
        host in LOOPBACK_HOSTS or re.fullmatch(r"127\.\d{1,3}\.\d{1,3}\.\d{1,3}", host)
    ):
        raise NotLoopback(f"refusing to load {url!r}: only 127.0.0.1 targets are allowed")
    return url


def display_command(command: str, repo: str) -> str:
    """A command as printed in the report: repo-relative paths, long id lists shortened."""
    command = command.replace(repo.rstrip("/") + "/", "")
    return re.sub(r"\b(\d+),(\d+,){8,}(\d+)\b", lambda m: f"{m.group(1)},…,{m.group(3)}", command)


# --- wrk ------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def duration_ms(text: str) -> float:
    """wrk's durations ('812.00us', '1.23ms', '1.02s', '2.00m') in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float | None
    p75_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    bytes_read: int
    p95_ms: float | None = None  # printed by our Lua scripts' done() (wrk's table has no 95 %)
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    timeouts: int = 0
    non_2xx_3xx: int = 0
    status: dict[str, int] | None = None  # from our Lua scripts' done(): "2xx", "4xx", "5xx"...

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors

    @property
    def errors(self) -> int:
        """Everything that is not a good answer: socket errors, timeouts and non-2xx/3xx."""
        return self.socket_errors + self.timeouts + self.non_2xx_3xx

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p75_ms": self.p75_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "p95_ms": self.p95_ms,
            "bytes_read": self.bytes_read,
            "connect_errors": self.connect_errors,
            "read_errors": self.read_errors,
            "write_errors": self.write_errors,
            "timeouts": self.timeouts,
            "non_2xx_3xx": self.non_2xx_3xx,
            "status": self.status,
        }


def parse_wrk(output: str) -> WrkResult:
    """Parse wrk 4.x's report (with or without --latency, plus our `bench-status` line)."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)([KMGT]?B) read", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not done or not rps:
        raise ValueError("no wrk summary in the output:\n" + output[-2000:])
    seconds = duration_ms(done.group(2) + done.group(3)) / 1000
    percentiles: dict[str, float] = {}
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE):
        percentiles[pct] = duration_ms(value)
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        errors = dict(zip(errors, map(int, sock.groups()), strict=True))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    status = None
    line = re.search(r"^bench-status (.*)$", output, re.MULTILINE)
    if line:
        status = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}
    p95 = re.search(r"^bench-latency p95=(\d+)\s*$", output, re.MULTILINE)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=seconds,
        rps=float(rps.group(1)),
        p50_ms=percentiles.get("50"),
        p75_ms=percentiles.get("75"),
        p90_ms=percentiles.get("90"),
        p99_ms=percentiles.get("99"),
        p95_ms=int(p95.group(1)) / 1000 if p95 else None,
        bytes_read=round(float(done.group(4)) * _SIZE[done.group(5)]),
        connect_errors=errors["connect"],
        read_errors=errors["read"],
        write_errors=errors["write"],
        timeouts=errors["timeout"],
        non_2xx_3xx=int(non2xx.group(1)) if non2xx else 0,
        status=status,
    )


# --- /proc ----------------------------------------------------------------------------------


def proc_stat_cpu(text: str) -> tuple[int, int]:
    """(total, idle) jiffies from /proc/stat's `cpu` line, as bench.sh counts them.

    total = user+nice+system+idle+iowait+irq+softirq+steal; idle = idle+iowait.
    """
    for line in text.splitlines():
        if line.startswith("cpu "):
            fields = [int(x) for x in line.split()[1:9]]
            return sum(fields), fields[3] + fields[4]
    raise ValueError("no 'cpu' line in /proc/stat")


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total, idle = after[0] - before[0], after[1] - before[1]
    return None if total <= 0 else 1 - idle / total


def listen_overflows(netstat: str) -> int:
    """TcpExt ListenOverflows from /proc/net/netstat."""
    lines = [line.split() for line in netstat.splitlines() if line.startswith("TcpExt:")]
    if len(lines) < 2:
        raise ValueError("no TcpExt lines in /proc/net/netstat")
    return int(lines[1][lines[0].index("ListenOverflows")])


# --- Prometheus -----------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)")


def prom_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """All samples of metric `name` in Prometheus text format, as (labels, value)."""
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        found.append((labels, float(match.group(3))))
    return found


def cache_counts(metrics_text: str) -> dict[str, dict[str, float]]:
    """cloudmall_cache_requests_total by kind → {"hit": n, "miss": n}."""
    counts: dict[str, dict[str, float]] = {}
    for labels, value in prom_samples(metrics_text, "cloudmall_cache_requests_total"):
        kind = counts.setdefault(labels.get("kind", "?"), {})
        result = labels.get("result", "?")
        kind[result] = kind.get(result, 0.0) + value
    return counts


def cache_delta(before: str, after: str) -> dict[str, Any]:
    """Hits and lookups per kind and overall between two /metrics scrapes, and the hit ratio."""
    start, end = cache_counts(before), cache_counts(after)
    kinds: dict[str, dict[str, float]] = {}
    for kind in sorted(set(start) | set(end)):
        results = set(start.get(kind, {})) | set(end.get(kind, {}))
        kinds[kind] = {
            r: end.get(kind, {}).get(r, 0.0) - start.get(kind, {}).get(r, 0.0) for r in results
        }
    hits = sum(k.get("hit", 0.0) for k in kinds.values())
    lookups = sum(sum(k.values()) for k in kinds.values())
    return {
        "kinds": kinds,
        "hits": hits,
        "lookups": lookups,
        "ratio": hits / lookups if lookups else None,
    }


# --- locust ---------------------------------------------------------------------------------


def _num(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def parse_locust_stats(csv_text: str) -> list[dict[str, Any]]:
    """Rows of locust's `<prefix>_stats.csv` (one per request name, plus 'Aggregated')."""
    rows = []
    for row in csv.DictReader(io.StringIO(csv_text)):
        rows.append(
            {
                "type": row.get("Type", ""),
                "name": row["Name"],
                "requests": int(float(row["Request Count"])),
                "failures": int(float(row["Failure Count"])),
                "rps": _num(row["Requests/s"]),
                "p50_ms": _num(row["50%"]),
                "p95_ms": _num(row["95%"]),
                "p99_ms": _num(row["99%"]),
                "max_ms": _num(row["Max Response Time"]),
                "avg_ms": _num(row["Average Response Time"]),
            }
        )
    return rows


def parse_locust_failures(csv_text: str) -> list[dict[str, Any]]:
    """Rows of locust's `<prefix>_failures.csv`: method, name, error, occurrences."""
    return [
        {
            "method": row.get("Method", ""),
            "name": row.get("Name", ""),
            "error": row.get("Error", ""),
            "occurrences": int(float(row.get("Occurrences", "0") or 0)),
        }
        for row in csv.DictReader(io.StringIO(csv_text))
    ]


# --- thresholds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    check: str
    measured: str
    target: str
    passed: bool | None  # None: not measured (scenario skipped or failed to run)

    @property
    def mark(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _find(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def fmt_int(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def fmt_pct(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.0f} %"


CLOUDMALL_SERVERS = ("cloudmall-uvicorn", "cloudmall-granian")
CATALOGUE_RATIO = 10  # issue 24: the catalogue at ≥ 10× the peer's req/s
ORDER_RATIO = 1  # issue 24: the whole order at ≥ 1× the peer's single-row insert


def median_row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    """The matching rows' round with the median req/s, its errors replaced by all rounds' sum."""
    found = sorted(
        (r for r in rows if all(r.get(k) == v for k, v in match.items())),
        key=lambda r: r["wrk"]["rps"] or 0,
    )
    if not found:
        return None
    middle = dict(found[len(found) // 2])
    middle["rounds_rps"] = [r["wrk"]["rps"] for r in found]
    middle["errors_all"] = sum(wrk_errors(r["wrk"]) for r in found)
    middle["timeouts_all"] = sum(r["wrk"]["timeouts"] for r in found)
    return middle


def _settled(row: dict[str, Any]) -> bool:
    """Whether the row was measured on a settled machine (rows from before the wait count)."""
    settle = row.get("settle")
    return not settle or bool(settle["quiet"] and not settle["backlog"])


def _rounds(row: dict[str, Any]) -> str:
    rounds = row.get("rounds_rps") or []
    return f" (rounds {', '.join(fmt_int(v) for v in rounds)})" if len(rounds) > 1 else ""


def judge(results: dict[str, Any]) -> list[Verdict]:
    """The acceptance thresholds of issue 24, each PASS/FAIL (n/a when not measured); a ratio
    is of the median rounds, errors are of all rounds."""
    verdicts: list[Verdict] = []
    catalogue = results.get("catalogue", [])
    orders = results.get("order", [])
    for server in CLOUDMALL_SERVERS:
        for conns in (100, 1000):
            check = f"catalogue on {server.removeprefix('cloudmall-')}, {conns} connections"
            ours = median_row(catalogue, server=server, conns=conns, variant="list")
            peer = median_row(catalogue, server="express", conns=conns, variant="list")
            target = f"≥ {CATALOGUE_RATIO}× the peer's req/s, 0 errors, 0 timeouts"
            if not ours or not peer:
                verdicts.append(Verdict(check, "not measured", target, None))
                continue
            rps, peer_rps = ours["wrk"]["rps"], peer["wrk"]["rps"]
            ratio = rps / peer_rps if peer_rps else math.inf
            errs = ours["errors_all"]
            verdicts.append(
                Verdict(
                    check,
                    f"{fmt_int(rps)}{_rounds(ours)} vs {fmt_int(peer_rps)}{_rounds(peer)} req/s "
                    f"= {ratio:.2f}×; errors {errs} (timeouts {ours['timeouts_all']})",
                    target,
                    ratio >= CATALOGUE_RATIO and errs == 0,
                )
            )
        # Only rounds measured on a settled machine count: one measured beside the shop's mail
        # work of the rounds before says nothing about either side's own speed.
        settled = [r for r in orders if _settled(r)]
        ours = median_row(settled, server=server)
        peer = median_row(settled, server="express")
        check = f"order on {server.removeprefix('cloudmall-')}, 100 connections"
        target = f"≥ {ORDER_RATIO}× the peer's insert-only req/s, 0 errors, stock conserved"
        measured_any = any(r["server"] in (server, "express") for r in orders)
        if measured_any and not (ours and peer):
            verdicts.append(
                Verdict(check, "no verdict: no settled round of both sides", target, None)
            )
        elif ours and peer:
            rps, peer_rps = ours["wrk"]["rps"], peer["wrk"]["rps"]
            ratio = rps / peer_rps if peer_rps else math.inf
            errs = sum(wrk_errors(r["wrk"]) for r in orders if r["server"] == server)
            conserved = all(
                r.get("conservation", {}).get("holds") for r in orders if r["server"] == server
            )
            left_out = len(orders) - len(settled)
            verdicts.append(
                Verdict(
                    check,
                    f"{fmt_int(rps)}{_rounds(ours)} vs {fmt_int(peer_rps)}{_rounds(peer)} req/s "
                    f"= {ratio:.2f}×, settled rounds only ({left_out} of {len(orders)} rows "
                    f"measured beside the shop's mail work left out); errors {errs} (all "
                    f"rounds); conservation {'holds' if conserved else 'BROKEN'}",
                    target,
                    ratio >= ORDER_RATIO and errs == 0 and conserved,
                )
            )
        else:
            verdicts.append(Verdict(check, "not measured", target, None))
    users = results.get("users")
    agg = _find(users["stats"], name="Aggregated") if users and users.get("stats") else None
    if users and agg:
        n = users["users"]
        ratio = users.get("cache", {}).get("ratio")
        cpu = users.get("cpu", {})
        verdicts.append(
            Verdict(
                f"{n:,} users: p95",
                fmt_ms(agg["p95_ms"]),
                "≤ 100 ms",
                agg["p95_ms"] is not None and agg["p95_ms"] <= 100,
            )
        )
        verdicts.append(
            Verdict(
                f"{n:,} users: errors",
                f"{agg['failures']:,} of {agg['requests']:,}",
                "0",
                agg["failures"] == 0 and agg["requests"] > 0,
            )
        )
        verdicts.append(
            Verdict(
                f"{n:,} users: catalogue cache hit ratio",
                fmt_pct(ratio),
                "≥ 90 %",
                ratio is not None and ratio >= 0.9,
            )
        )
        verdicts.append(
            Verdict(
                f"{n:,} users: machine CPU reported",
                f"mean {fmt_pct(cpu.get('mean'))}, peak {fmt_pct(cpu.get('peak'))}",
                "reported",
                cpu.get("mean") is not None,
            )
        )
    else:
        for check, target in (
            ("users: p95", "≤ 100 ms"),
            ("users: errors", "0"),
            ("users: cache hit ratio", "≥ 90 %"),
            ("users: CPU", "reported"),
        ):
            verdicts.append(Verdict(check, "not measured", target, None))
    scaling = results.get("scaling", [])
    one, two = _find(scaling, workers=1), _find(scaling, workers=2)
    if one and two:
        growth = two["wrk"]["rps"] / one["wrk"]["rps"] if one["wrk"]["rps"] else math.inf
        verdicts.append(
            Verdict(
                "scaling: 1 → 2 workers",
                f"{fmt_int(one['wrk']['rps'])} → {fmt_int(two['wrk']['rps'])} req/s "
                f"= {growth:.2f}×",
                "> 1× (throughput grows)",
                growth > 1,
            )
        )
    else:
        verdicts.append(Verdict("scaling: 1 → 2 workers", "not measured", "grows", None))
    peak = results.get("peak_rss_mb")
    verdicts.append(
        Verdict(
            "peak RSS per worker (whole run)",
            "not measured" if peak is None else f"{peak:.0f} MB",
            "≤ 250 MB",
            None if peak is None else peak <= 250,
        )
    )
    return verdicts


def wrk_errors(wrk: dict[str, Any]) -> int:
    """Every failed request of a wrk row: socket errors, timeouts and answers other than 2xx/3xx."""
    return int(
        wrk["connect_errors"]
        + wrk["read_errors"]
        + wrk["write_errors"]
        + wrk["timeouts"]
        + wrk["non_2xx_3xx"]
    )


# --- Markdown -------------------------------------------------------------------------------


def _errors_cell(wrk: dict[str, Any]) -> str:
    parts = []
    sock = {k: wrk[f"{k}_errors"] for k in ("connect", "read", "write") if wrk[f"{k}_errors"]}
    if sock:
        parts.append("socket " + ", ".join(f"{k} {v:,}" for k, v in sock.items()))
    if wrk["timeouts"]:
        parts.append(f"{wrk['timeouts']:,} timeouts")
    if wrk["non_2xx_3xx"]:
        parts.append(f"{wrk['non_2xx_3xx']:,} non-2xx/3xx")
    return f"{'; '.join(parts) or '0'} (of {wrk['requests']:,})"


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


SERVER_NAMES = {
    "cloudmall-uvicorn": "cloudmall on uvicorn",
    "cloudmall-granian": "cloudmall on granian",
    "express": "Express peer",
}


def _wrk_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for row in rows:
        wrk = row["wrk"]
        out.append(
            [
                SERVER_NAMES.get(row["server"], row["server"]),
                row.get("label", "") + (f", round {row['round']}" if row.get("round") else ""),
                f"{row['conns']:,}",
                f"**{fmt_int(wrk['rps'])}**",
                fmt_ms(wrk["p50_ms"]),
                fmt_ms(wrk.get("p95_ms")),
                fmt_ms(wrk["p99_ms"]),
                _errors_cell(wrk),
                fmt_pct(row.get("cpu_busy")),
                fmt_pct(row.get("server_cpu")),
                fmt_pct(row.get("wrk_cpu")),
                str(row.get("listen_overflows", "?")),
                fmt_pct(row.get("pause_busy")),
            ]
        )
    return out


WRK_HEADER = [
    "connections",
    "req/s",
    "p50",
    "p95",
    "p99",
    "errors",
    "machine CPU busy",
    "server CPU",
    "wrk CPU",
    "listen overflows",
    "busy in the pause",
]
WRK_ALIGN = "ll" + "rrrrrl" + "rrrrr"  # server, request, then WRK_HEADER


def render(
    results: dict[str, Any], charts: dict[str, str] | None = None, extra: list[str] | None = None
) -> str:
    """docs/benchmarks.md from the results of one run; `extra`: Markdown blocks added at the end
    (the hand-written findings of docs/bench/notes.md, the link to the profiles)."""
    meta = results["meta"]
    charts = charts or {}
    lines: list[str] = []
    title = "cloudmall benchmarks" + (" (quick mode: indicative only)" if meta["quick"] else "")
    lines += [f"# {title}", ""]
    lines += [
        "Generated by `bench/run.py` from one run; do not edit by hand — rerun "
        f"`{meta['command']}`. Raw figures: [`{meta['results_file']}`]({meta['results_link']}).",
        "",
        f"- **Date**: {meta['date']} (run took {meta['elapsed_s'] / 60:.1f} min)",
        f"- **Code measured**: branch `{meta['git']['branch']}`, commit "
        f"`{meta['git']['commit']}`{' (uncommitted changes)' if meta['git']['dirty'] else ''}",
        f"- **Machine**: nproc = {meta['machine']['nproc']}; CPU `{meta['machine']['cpu_model']}`; "
        f"RAM {meta['machine']['ram_gib']:.1f} GiB; kernel {meta['machine']['kernel']}; "
        f"{meta['machine']['os']}; `ulimit -n` {meta['machine']['nofile']}",
        f"- **Background load** before the run: machine {fmt_pct(meta['idle_check']['busy'])} busy "
        f"over {meta['idle_check']['seconds']:g} s"
        + (
            "; busiest other processes: "
            + ", ".join(f"{p['name']} {p['cpu']:.0f} %" for p in meta["idle_check"]["top"])
            if meta["idle_check"]["top"]
            else ""
        )
        + ". The machine is shared: other processes add noise to every figure."
        + (
            f" Load average (1, 5, 15 min) at the start {meta['load_before']}"
            + (f", at the end {meta['load_after']}" if meta.get("load_after") else "")
            + f" ({meta['machine']['nproc']} cores)."
            if meta.get("load_before")
            else ""
        ),
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "- **Shop**: "
        + meta["shop"]["description"]
        + f"; `GET /api/products` = {meta['shop']['list_bytes']:,} bytes "
        f"({meta['shop']['list_items']} products)",
        "- **Peer**: "
        + meta["peer"]["description"]
        + (
            f"; `GET /api/products` = {meta['peer']['list_bytes']:,} bytes"
            if meta["peer"].get("list_bytes")
            else ""
        ),
        "",
    ]
    lines += [
        "How to run: `make bench` (this report, ~12 min), `make bench-quick` (short runs into "
        "`var/bench-quick/`, ~3 min), `make bench-profile` (py-spy flame graphs into "
        "`docs/bench/`). Needs MariaDB (root, no password) and Redis on 127.0.0.1, wrk, and "
        "Node for the peer; `python -m bench.run --help` for options (`--only`, `--no-peer`).",
        "",
    ]
    verdicts = judge(results)
    lines += ["## Acceptance thresholds", ""]
    lines += _table(
        ["check", "measured", "target", "verdict"],
        [[v.check, v.measured, v.target, f"**{v.mark}**"] for v in verdicts],
        "lllr",
    )
    lines += [""]
    if meta["quick"]:
        lines += ["Quick mode: short runs and fewer users; the thresholds are indicative only.", ""]
    lines += [
        "## Method",
        "",
        "wrk scenarios follow the peer's `bench.sh` exactly: `wrk -t1`, a warm-up run "
        f"({meta['wrk']['warmup']}, discarded), a {meta['wrk']['pause']} s pause (so the server "
        "finishes what the warm-up abandoned), then the measured run "
        f"(`-d{meta['wrk']['duration']} --latency --timeout {meta['wrk']['timeout']}`), "
        f"`ulimit -n` raised to the hard limit ({meta['machine']['nofile']}). "
        '"errors" = socket errors + wrk timeouts (a request slower than the timeout; it is left '
        'out of the percentiles) + non-2xx/3xx answers. "machine CPU busy" = all cores during '
        'the measured run, from /proc/stat; "server CPU" = the server\'s processes (all workers, '
        'or node) as a share of the whole machine; "wrk CPU" = wrk\'s user+sys as a share of one '
        'core (near 100 % means the load generator, not the server, is the limit); "listen '
        'overflows" = TcpExt ListenOverflows during the run; "busy in the pause" = the machine '
        "during the pause before the run, when the server should be idle: other tenants' load "
        "(it makes every figure of that row less reliable). Order rows first wait (bounded) "
        "for a quiet machine and for the shop's mail reader to finish the outbox's events of "
        "the runs before, then pause.",
        "",
        "Exact commands:",
        "",
        "```sh",
        *meta["commands"],
        "```",
        "",
    ]
    lines += _catalogue_section(results, charts)
    lines += _order_section(results, charts)
    lines += _users_section(results, charts)
    lines += _scaling_section(results, charts)
    if results.get("failures"):
        lines += ["## What did not run", ""]
        lines += [f"- {f}" for f in results["failures"]]
        lines += [""]
    notes = results.get("notes")
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    if extra:
        lines += ["## Findings and profiles", ""]
        for block in extra:
            lines += [block, ""]
    return "\n".join(lines).rstrip() + "\n"


def _quiet(results: dict[str, Any], scenario: str) -> list[str]:
    quiet = results.get("quiet", {}).get(scenario)
    if not quiet:
        return []
    return [
        f"Before this scenario the harness waited {quiet['waited_s']:.0f} s for the machine to be "
        f"quiet (< 25 % busy): it was {fmt_pct(quiet['busy'])} busy"
        + ("." if quiet["quiet"] else " — other tenants were busy; expect noise."),
        "",
    ]


def _settle_lines(rows: list[dict[str, Any]]) -> list[str]:
    """How long each row waited, after its warm-up, for a quiet machine and the shop's mail
    owed for the orders before it; a row that could not wait that out says so."""
    lines = []
    for row in rows:
        settled = row.get("settle")
        if not settled:
            continue
        who = f"{SERVER_NAMES.get(row['server'], row['server'])}, round {row.get('round', 1)}"
        done = _settled(row)
        lines.append(
            f"- {who}: waited {settled['waited_s']:.0f} s before the run; machine "
            f"{fmt_pct(settled['busy'])} busy, {settled['backlog']:,} events of the shop's "
            "outbox still without their mail"
            + ("" if done else " — **not settled**: the row was measured beside that work")
        )
    return lines


def _chart(charts: dict[str, str], key: str, alt: str) -> list[str]:
    return [f"![{alt}]({charts[key]})", ""] if key in charts else []


def _catalogue_section(results: dict[str, Any], charts: dict[str, str]) -> list[str]:
    rows = results.get("catalogue", [])
    if not rows:
        return []
    lines = ["## Catalogue: `GET /api/products` (100 products, cache warm)", ""]
    lines += _quiet(results, "catalogue")
    lines += _table(
        ["server", "request", *WRK_HEADER],
        _wrk_rows(rows),
        WRK_ALIGN,
    )
    lines += [
        "",
        '"list" = `GET /api/products` (the default page: the same 100 products as the peer\'s '
        'list); "ETag 304" = the same request with `If-None-Match` set to the current ETag '
        "(a revalidation; the answer is 304 with no body).",
        "",
    ]
    return lines + _chart(charts, "catalogue", "catalogue throughput and latency")


def _order_section(results: dict[str, Any], charts: dict[str, str]) -> list[str]:
    rows = results.get("order", [])
    if not rows:
        return []
    lines = ["## Order: `POST /api/orders`, 100 connections", ""]
    lines += _quiet(results, "order")
    lines += [
        "cloudmall: the whole real order (bearer token of one of the signed-in customers in "
        "turn, one unit of a random product among the 100, a unique `Idempotency-Key`; stock "
        "checked and decremented, order and line written) with `bench/lua/order.lua`. Express "
        "peer: the guide's single-row `INSERT INTO orders` with the peer's own `post_order.lua`.",
        "",
    ]
    lines += _table(
        ["server", "request", *WRK_HEADER],
        _wrk_rows(rows),
        WRK_ALIGN,
    )
    lines += [""]
    lines += _settle_lines(rows)
    for row in rows:
        status = row["wrk"].get("status")
        if row["server"] in CLOUDMALL_SERVERS and status:
            warm = row.get("warmup_status") or {}
            lines.append(
                f"- {SERVER_NAMES[row['server']]}, round {row.get('round', 1)}: answers in the "
                "measured run (counted by the Lua script): "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(status.items()))
                + (
                    "; in the warm-up: " + ", ".join(f"{k} {v:,}" for k, v in sorted(warm.items()))
                    if warm
                    else ""
                )
            )
            cons = row.get("conservation")
            if cons:
                seen = status.get("2xx", 0) + warm.get("2xx", 0)
                lines.append(
                    f"- Orders in MariaDB after the run: {cons['orders']:,}; 2xx answers seen by "
                    f"wrk (warm-up + run): {seen:,} (a request wrk gave up on after its timeout "
                    "may still have been completed by the server)"
                )
        elif row["server"] == "express":
            wrk = row["wrk"]
            lines.append(
                f"- Express peer answers in the measured run: 2xx "
                f"{wrk['requests'] - wrk['non_2xx_3xx']:,}, non-2xx {wrk['non_2xx_3xx']:,} "
                "(from wrk's count; the peer's own post_order.lua, unchanged, counts nothing)"
            )
    cons = next((r.get("conservation") for r in rows if r.get("conservation")), None)
    if cons:
        lines.append(
            f"- Stock conservation (MariaDB, after the run): Σ(initial − current stock) over "
            f"{cons['products']} products = {cons['units_out']:,}; Σ quantities of non-cancelled "
            f"orders = {cons['units_ordered']:,} ({cons['orders']:,} orders, "
            f"{cons['cancelled']:,} cancelled) → **{'holds' if cons['holds'] else 'BROKEN'}**"
        )
    lines += [""]
    return lines + _chart(charts, "order", "order throughput and latency")


def _users_section(results: dict[str, Any], charts: dict[str, str]) -> list[str]:
    users = results.get("users")
    if not users or not users.get("stats"):
        return []
    lines = [f"## {users['users']:,} users (locust)", ""]
    lines += _quiet(results, "users")
    lines += [users["description"], ""]
    table = []
    for row in users["stats"]:
        table.append(
            [
                ("**overall**" if row["name"] == "Aggregated" else f"{row['type']} {row['name']}"),
                f"{row['requests']:,}",
                f"{row['failures']:,}",
                "?" if row["rps"] is None else f"{row['rps']:,.1f}",
                fmt_ms(row["p50_ms"]),
                fmt_ms(row["p95_ms"]),
                fmt_ms(row["p99_ms"]),
                fmt_ms(row["max_ms"]),
            ]
        )
    lines += _table(
        ["request", "count", "failures", "req/s", "p50", "p95", "p99", "max"], table, "lrrrrrrr"
    )
    cache = users.get("cache", {})
    cpu = users.get("cpu", {})
    lines += [
        "",
        f"- Catalogue cache (server `/metrics`, delta over the run): {fmt_int(cache.get('hits'))} "
        f"hits of {fmt_int(cache.get('lookups'))} lookups = **{fmt_pct(cache.get('ratio'))}**"
        + (
            " — by kind: "
            + ", ".join(
                f"{kind} {fmt_int(v.get('hit', 0))}/{fmt_int(sum(v.values()))}"
                for kind, v in cache.get("kinds", {}).items()
            )
            if cache.get("kinds")
            else ""
        ),
        f"- Machine CPU (psutil, every {users.get('sample_s', 1):g} s over the run): mean "
        f"**{fmt_pct(cpu.get('mean'))}**, peak {fmt_pct(cpu.get('peak'))}; of the whole machine: "
        + ", ".join(f"{k} {fmt_pct(v)}" for k, v in users.get("process_cpu", {}).items()),
        "- Server workers' peak RSS: "
        + ", ".join(f"{v:.0f} MB" for v in users.get("worker_peak_rss_mb", []))
        + ".",
    ]
    if users.get("failures_detail"):
        lines.append(
            "- Failures: "
            + "; ".join(
                f"{f['method']} {f['name']}: {f['error']} ×{f['occurrences']:,}"
                for f in users["failures_detail"][:10]
            )
        )
    if users.get("conservation"):
        cons = users["conservation"]
        lines.append(
            f"- Stock conservation after this run (all orders so far): "
            f"{cons['units_out']:,} units out of stock vs {cons['units_ordered']:,} in "
            f"non-cancelled orders → **{'holds' if cons['holds'] else 'BROKEN'}**"
        )
    lines += [""]
    return lines + _chart(charts, "users", "latency per request type, 1,000 users")


def _scaling_section(results: dict[str, Any], charts: dict[str, str]) -> list[str]:
    rows = results.get("scaling", [])
    if not rows:
        return []
    lines = ["## Scaling: catalogue with 1 and 2 workers, 100 connections", ""]
    lines += _quiet(results, "scaling")
    table = []
    for row in rows:
        wrk = row["wrk"]
        table.append(
            [
                str(row["workers"]),
                f"**{fmt_int(wrk['rps'])}**",
                fmt_ms(wrk["p50_ms"]),
                fmt_ms(wrk["p99_ms"]),
                _errors_cell(wrk),
                fmt_pct(row.get("cpu_busy")),
                fmt_pct(row.get("server_cpu")),
                fmt_pct(row.get("wrk_cpu")),
                fmt_pct(row.get("pause_busy")),
                ", ".join(f"{v:.0f} MB" for v in row.get("worker_peak_rss_mb", [])),
            ]
        )
    lines += _table(
        [
            "workers",
            "req/s",
            "p50",
            "p99",
            "errors",
            "machine CPU busy",
            "server CPU",
            "wrk CPU",
            "busy in the pause",
            "peak RSS per worker",
        ],
        table,
        "rrrrlrrrrl",
    )
    lines += [""]
    return lines + _chart(charts, "scaling", "throughput with 1 and 2 workers")


# --- py-spy -------------------------------------------------------------------------------


def _short(frame: str) -> str:
    """'f (/x/site-packages/starlette/routing.py:9)' → 'f (starlette/routing.py:9)'."""
    frame = re.sub(r"\(.*?/site-packages/", "(", frame)
    frame = re.sub(r"\(.*?/src/cloudmall/", "(cloudmall/", frame)
    return re.sub(r"\(/usr/lib/python3[^/]*/|\(.*?/lib/python3\.\d+/", "(stdlib ", frame)


def top_functions(
    collapsed: str, limit: int = 25
) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]]]:
    """From py-spy's raw (collapsed) stacks: samples, top by own time, by total time, and
    cloudmall's own functions by total time."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";")]
        # the first frame is the thread ("process 123:\"python\"" / thread name): skip it
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    ours = Counter({f: n for f, n in total.items() if "(cloudmall/" in f})
    return samples, own.most_common(limit), total.most_common(limit), ours.most_common(limit)
