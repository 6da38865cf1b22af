"""Two commits side by side: one scenario on each, in alternating rounds of one run.

    python -m bench.ab BASE [CHANGED] [--scenario order|catalogue] [--conns 100 1000]
                       [--server uvicorn|granian] [--rounds 3] [--seconds 10]

Each commit (any git revision; CHANGED defaults to the working tree) is served from its own
checkout: its `src` from `git archive`, put first on the server's PYTHONPATH. Every round starts
each side afresh as bench.run does (new MariaDB database, 100 products, 2 workers, 25 signed-up
customers) and measures `POST /api/orders` at 100 connections with bench/lua/order.lua, then
checks stock conservation (timeouts are counted, not fatal: a crowded machine has them). Between
the warm-up and the run, and after the run, it waits (up to `--settle-wait` s) for a quiet
machine and the orders' confirmation mail to be sent: the worker CPU per order includes that
mail; the log also gives MariaDB's CPU per order and how long each wait took.
`--scenario catalogue` instead measures the cached `GET /api/products` (warmed once) at each of
`--conns` connections (default 100): req/s, worker CPU µs per answer, any non-200 answer fatal.
Rounds alternate BASE, CHANGED, BASE, ... so that the machine's drift hits both alike; the
medians are the figures to quote. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import loadgen, report, services, system
from bench.loadgen import WrkMethod
from bench.services import Shop, log

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Side:
    name: str
    src: Path | None  # None: the installed (working tree) code
    # by label ("orders", "catalogue @100", ...): (req/s, worker CPU per request (ms for orders,
    # µs for the catalogue), p95 ms (orders) or p99 ms (catalogue), wrk errors, load average)
    rows: dict[str, list[tuple[float, float, float, int, float]]] = field(default_factory=dict)


def checkout(revision: str, into: Path) -> Path:
    """The revision's `src` in `into` (git archive: no worktree is registered in the repository
    other sessions share)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "src"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def fresh_shop(side: Side, workdir: Path, reaper: system.Reaper, server: str) -> Shop:
    shutil.rmtree(workdir, ignore_errors=True)
    shop = Shop(workdir / "shop", reaper, server=server)
    if side.src is not None:
        shop.env["PYTHONPATH"] = str(side.src)
    shop.prepare(products=100)
    shop.start(workers=2)
    return shop


def order_round(
    side: Side, method: WrkMethod, workdir: Path, reaper: system.Reaper, args: Any
) -> None:
    shop = fresh_shop(side, workdir, reaper, args.server)
    try:
        shop.set_stock(services.INITIAL_STOCK)
        ids = ",".join(str(product["id"]) for product in shop.products())
        tokens = workdir / "tokens.txt"
        tokens.write_text("\n".join(shop.create_users(25, run_id=side.name)) + "\n")
        workers = shop.worker_pids()
        database = system.find_pids("mariadbd")
        before, db_before = cpu_seconds(workers), cpu_seconds(database)
        row = loadgen.measure(
            method, f"{shop.url}/api/orders", 100,
            lua=loadgen.LUA_DIR / "order.lua",
            lua_args=lambda tag: [str(tokens), ids, f"{side.name}-{tag}-{time.time_ns()}"],
            server_pids=shop.all_pids, raw_dir=workdir / "raw", name=f"ab-{side.name}",
            settle=lambda: system.wait_settled(args.settle_wait, services.outbox_backlog),
        )  # fmt: skip
        wrk = row["wrk"]
        # The run's mail is part of its orders' cost: wait for it too (the figures say if not).
        after = system.wait_settled(args.settle_wait, services.outbox_backlog)
        # The CPU covers the warm-up (and its mail, sent while settling) too: count its orders
        # with the run's.
        orders = (wrk["status"] or {}).get("2xx", 0) + (row["warmup_status"] or {}).get("2xx", 0)
        worker_ms = 1000 * (cpu_seconds(workers) - before) / max(orders, 1)
        db_ms = 1000 * (cpu_seconds(database) - db_before) / max(orders, 1)
        refused = sum(n for status, n in (wrk["status"] or {}).items() if status != "2xx")
        ledger = services.conservation(settle=20)
        if not ledger["holds"] or refused:
            raise RuntimeError(f"{side.name}: {refused} refusals, or stock not conserved: {ledger}")
        # Timeouts and socket errors are the load generator's on a crowded machine: reported.
        errors = report.wrk_errors(wrk)
        p95 = wrk.get("p95_ms") or 0.0
        side.rows.setdefault("orders", []).append(
            (wrk["rps"], worker_ms, p95, errors, os.getloadavg()[0])
        )
        before_run = row["settle"]
        log(
            f"{side.name}: {wrk['rps']:,.0f} req/s, worker CPU {worker_ms:.2f} ms/order, "
            f"MariaDB CPU {db_ms:.2f} ms/order, errors {errors}; settled before the run after "
            f"{before_run['waited_s']:.0f} s (backlog {before_run['backlog']:,}, pause "
            f"{report.fmt_pct(row['pause_busy'])} busy), the run's mail sent after "
            f"{after['waited_s']:.0f} s (backlog left {after['backlog']:,})"
        )
    finally:
        shop.stop()


def catalogue_round(
    side: Side, method: WrkMethod, workdir: Path, reaper: system.Reaper, args: Any
) -> None:
    shop = fresh_shop(side, workdir, reaper, args.server)
    try:
        url = f"{shop.url}/api/products"
        services.expect(services.http("GET", url), 200, what="warm")
        workers = shop.worker_pids()
        for conns in args.conns:
            before = cpu_seconds(workers)
            row = loadgen.measure(
                method, url, conns, server_pids=shop.all_pids, raw_dir=workdir / "raw",
                name=f"ab-{side.name}-{conns}",
            )  # fmt: skip
            wrk = row["wrk"]
            # The CPU covers the warm-up too: count its answers with the run's.
            warm = report.parse_wrk(
                (workdir / "raw" / f"ab-{side.name}-{conns}-warmup.txt").read_text()
            )
            worker_us = (
                1e6 * (cpu_seconds(workers) - before) / max(wrk["requests"] + warm.requests, 1)
            )
            if wrk["non_2xx_3xx"] or warm.non_2xx_3xx:
                raise RuntimeError(f"{side.name}: answers other than 2xx")
            errors = report.wrk_errors(wrk)  # non-2xx is fatal above: 0 here
            side.rows.setdefault(f"catalogue @{conns}", []).append(
                (wrk["rps"], worker_us, wrk.get("p99_ms") or 0.0, errors, os.getloadavg()[0])
            )
            log(
                f"{side.name} @{conns}: {wrk['rps']:,.0f} req/s, worker CPU {worker_us:.0f} "
                f"µs/answer, errors {errors}"
            )
    finally:
        shop.stop()


def table(sides: list[Side]) -> str:
    lines = [
        "| code | load | rounds: req/s | median req/s | rounds: worker CPU per request | median | "
        "rounds: p95 (orders) / p99 (catalogue) | errors (timeouts) | load average |",
        "|---|---|---|---:|---|---:|---|---:|---|",
    ]
    for label in sides[0].rows:
        unit, digits = ("ms", 2) if label == "orders" else ("µs", 0)
        for side in sides:
            rows = side.rows.get(label, [])
            if not rows:
                continue
            rps = [row[0] for row in rows]
            cpu = [row[1] for row in rows]
            lines.append(
                f"| {side.name} | {label} | {', '.join(f'{r:,.0f}' for r in rps)} | "
                f"{statistics.median(rps):,.0f} | "
                f"{', '.join(f'{c:.{digits}f}' for c in cpu)} {unit} | "
                f"{statistics.median(cpu):.{digits}f} {unit} | "
                f"{', '.join(f'{row[2]:.0f} ms' for row in rows)} | "
                f"{sum(row[3] for row in rows)} | "
                f"{', '.join(f'{row[4]:.1f}' for row in rows)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare against")
    parser.add_argument("changed", nargs="?", help="git revision (default: the working tree)")
    parser.add_argument("--scenario", choices=("order", "catalogue"), default="order")
    parser.add_argument(
        "--conns", type=int, nargs="+", default=[100], help="catalogue: connections per run"
    )
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--settle-wait",
        type=float,
        default=60,
        help="order: after the warm-up, wait up to this many seconds for a quiet machine and "
        "the warm-up's mail to be sent",
    )
    args = parser.parse_args()
    method = WrkMethod(duration=f"{args.seconds}s", warmup="2s", pause=2)
    reaper = system.Reaper()
    reaper.install_signal_handlers()
    scratch = Path(tempfile.mkdtemp(prefix="cloudmall-ab-"))
    try:
        sides = [Side(args.base, checkout(args.base, scratch / "base"))]
        changed = args.changed
        sides.append(
            Side(changed, checkout(changed, scratch / "changed"))
            if changed
            else Side("worktree", None)
        )
        one_round = catalogue_round if args.scenario == "catalogue" else order_round
        for _ in range(args.rounds):
            for side in sides:
                one_round(side, method, scratch / "work", reaper, args)
        print(table(sides))
    finally:
        reaper.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
