"""Two commits side by side: the order scenario on each, in alternating rounds of one run.

    python -m bench.ab BASE [CHANGED] [--rounds 3] [--seconds 10]

Each commit (any git revision; CHANGED defaults to the working tree) is served from its own
checkout: its `src` from `git archive`, put first on the server's PYTHONPATH. Every round starts
each side afresh as bench.run does (new MariaDB database, 100 products, 2 workers, 25 signed-up
customers) and measures `POST /api/orders` at 100 connections with bench/lua/order.lua, then
checks stock conservation (timeouts are counted, not fatal: a crowded machine has them).
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

import psutil

from bench import loadgen, services, system
from bench.loadgen import WrkMethod
from bench.services import Shop, log

REPO = Path(__file__).resolve().parent.parent
ERROR_FIELDS = ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx_3xx")


@dataclass
class Side:
    name: str
    src: Path | None  # None: the installed (working tree) code
    # (req/s, worker ms/order, p95 ms, wrk errors, load average over 1 min)
    rows: list[tuple[float, float, float, int, float]] = field(default_factory=list)


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


def one_round(side: Side, method: WrkMethod, workdir: Path, reaper: system.Reaper) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    shop = Shop(workdir / "shop", reaper)
    if side.src is not None:
        shop.env["PYTHONPATH"] = str(side.src)
    shop.prepare(products=100)
    shop.start(workers=2)
    try:
        shop.set_stock(services.INITIAL_STOCK)
        ids = ",".join(str(product["id"]) for product in shop.products())
        tokens = workdir / "tokens.txt"
        tokens.write_text("\n".join(shop.create_users(25, run_id=side.name)) + "\n")
        workers = shop.worker_pids()
        before = cpu_seconds(workers)
        row = loadgen.measure(
            method, f"{shop.url}/api/orders", 100,
            lua=loadgen.LUA_DIR / "order.lua",
            lua_args=lambda tag: [str(tokens), ids, f"{side.name}-{tag}-{time.time_ns()}"],
            server_pids=shop.all_pids, raw_dir=workdir / "raw", name=f"ab-{side.name}",
        )  # fmt: skip
        wrk = row["wrk"]
        # The CPU covers the warm-up too: count its orders with the run's.
        orders = (wrk["status"] or {}).get("2xx", 0) + (row["warmup_status"] or {}).get("2xx", 0)
        worker_ms = 1000 * (cpu_seconds(workers) - before) / max(orders, 1)
        refused = sum(n for status, n in (wrk["status"] or {}).items() if status != "2xx")
        ledger = services.conservation(settle=20)
        if not ledger["holds"] or refused:
            raise RuntimeError(f"{side.name}: {refused} refusals, or stock not conserved: {ledger}")
        # Timeouts and socket errors are the load generator's on a crowded machine: reported.
        errors = sum(wrk[k] for k in ERROR_FIELDS)
        p95 = wrk.get("p95_ms") or 0.0
        side.rows.append((wrk["rps"], worker_ms, p95, errors, os.getloadavg()[0]))
        log(
            f"{side.name}: {wrk['rps']:,.0f} req/s, worker CPU {worker_ms:.2f} ms/order, "
            f"errors {errors}"
        )
    finally:
        shop.stop()


def table(sides: list[Side]) -> str:
    lines = [
        "| code | rounds: req/s | median req/s | rounds: worker CPU ms/order | median | "
        "rounds: p95 | errors (timeouts) | load average |",
        "|---|---|---:|---|---:|---|---:|---|",
    ]
    for side in sides:
        rps = [row[0] for row in side.rows]
        cpu = [row[1] for row in side.rows]
        lines.append(
            f"| {side.name} | {', '.join(f'{r:,.0f}' for r in rps)} | "
            f"{statistics.median(rps):,.0f} | {', '.join(f'{c:.2f}' for c in cpu)} | "
            f"{statistics.median(cpu):.2f} | "
            f"{', '.join(f'{row[2]:.0f} ms' for row in side.rows)} | "
            f"{sum(row[3] for row in side.rows)} | "
            f"{', '.join(f'{row[4]:.1f}' for row in side.rows)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision to compare against")
    parser.add_argument("changed", nargs="?", help="git revision (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
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
        for _ in range(args.rounds):
            for side in sides:
                one_round(side, method, scratch / "work", reaper)
        print(table(sides))
    finally:
        reaper.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
