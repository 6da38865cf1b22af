"""Profile a cloudmall worker under load with py-spy: flame graphs and top functions.

    python -m bench.profile [--seconds 15] [--out docs/bench]

Starts cloudmall exactly as bench.run does (MariaDB + Redis, 100 products, 2 workers), then for
each load — catalogue (`GET /api/products`, 100 connections) and order (`POST /api/orders`, 100
connections, bench/lua/order.lua) — runs wrk and, meanwhile, `py-spy record` on both workers: one
writes a flame graph (SVG), the other raw collapsed stacks, from which the top functions (own
time and total time) are computed. Writes profile-<load>.svg, profile-<load>-top.md and
profile.md under --out. py-spy runs with --gil: only the thread holding the GIL is sampled, so the
shares are of the worker's Python work (waiting, and C code that releases the GIL, are left out).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import loadgen, report, system
from bench.loadgen import WrkMethod
from bench.services import Shop, log

REPO = Path(__file__).resolve().parent.parent


def py_spy() -> str:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else "py-spy"


Rows = list[tuple[str, int]]


def top_markdown(name: str, samples: int, own: Rows, total: Rows, ours: Rows, wrk_line: str) -> str:
    lines = [f"# py-spy: top functions of one cloudmall worker, {name} load", "", wrk_line, ""]
    lines += [
        f"{samples:,} samples of the worker's thread holding the GIL (waiting and C code that "
        "releases the GIL are left out).",
        "",
    ]
    for title, rows in (
        ("own time (the function itself)", own),
        ("total time (with callees)", total),
        ("total time, cloudmall's own functions", ours),
    ):
        lines += [f"## By {title}", "", "| % | samples | function |", "|---:|---:|---|"]
        lines += (
            [f"| {100 * n / samples:.1f} | {n:,} | `{f}` |" for f, n in rows] if samples else []
        )
        lines += [""]
    return "\n".join(lines)


def profile_load(
    shop: Shop,
    reaper: system.Reaper,
    name: str,
    wrk_cmd: list[str],
    seconds: int,
    out: Path,
    rate: int,
) -> str:
    workers = shop.worker_pids()
    if len(workers) < 2:
        raise RuntimeError(f"expected 2 workers, found {workers}")
    log(f"{name}: wrk for {seconds + 6} s, py-spy on workers {workers} for {seconds} s")
    wrk_out = out / f"profile-{name}-wrk.txt"
    with wrk_out.open("wb") as sink:
        wrk = subprocess.Popen(
            wrk_cmd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    reaper.add(f"wrk {name}", lambda: system.stop_group(wrk, grace=2))
    time.sleep(3)
    raw = Path(tempfile.gettempdir()) / f"cloudmall-profile-{name}.txt"
    # --gil: only the thread holding the GIL, i.e. the Python work (threads waiting on a lock or
    # the event loop waiting in epoll are left out)
    base = [py_spy(), "record", "--gil", "--duration", str(seconds), "--rate", str(rate)]
    spies = [
        subprocess.Popen(
            [*base, "--pid", str(workers[0]), "--format", "flamegraph", "-o",
             str(out / f"profile-{name}.svg")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        ),
        subprocess.Popen(
            [*base, "--pid", str(workers[1]), "--format", "raw", "-o", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        ),
    ]  # fmt: skip
    for spy in spies:
        reaper.add(f"py-spy {spy.pid}", lambda s=spy: system.stop_group(s, grace=5))
    errors = []
    for spy in spies:
        try:
            _, err = spy.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            system.stop_group(spy, grace=5)
            err = b"timed out"
        if spy.returncode != 0:
            errors.append(err.decode(errors="replace")[-500:])
        reaper.remove(f"py-spy {spy.pid}")
    wrk.wait(timeout=30)
    reaper.remove(f"wrk {name}")
    if errors or not raw.exists():
        raise RuntimeError(f"py-spy failed: {' | '.join(errors)}")
    parsed = report.parse_wrk(wrk_out.read_text())
    shown = report.display_command(shlex.join(wrk_cmd), str(REPO))
    wrk_line = (
        f"Load: `{shown}` → {parsed.rps:,.0f} req/s, p50 "
        f"{report.fmt_ms(parsed.p50_ms)}, p99 {report.fmt_ms(parsed.p99_ms)}, errors "
        f"{parsed.errors} (while py-spy sampled both workers at {rate} Hz, which slows them)."
    )
    samples, own, total, ours = report.top_functions(raw.read_text())
    (out / f"profile-{name}-top.md").write_text(
        top_markdown(name, samples, own, total, ours, wrk_line)
    )
    raw.unlink(missing_ok=True)
    wrk_out.unlink(missing_ok=True)
    log(f"{name}: {samples:,} samples; top own time: {own[0][0] if own else '-'}")
    return wrk_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="py-spy sampling time per load")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--out", default=str(REPO / "docs" / "bench"))
    parser.add_argument("--loads", default="catalogue,order")
    parser.add_argument(
        "--workdir", default=str(Path(tempfile.gettempdir()) / "cloudmall-bench-profile")
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    system.raise_nofile()
    reaper = system.Reaper()
    reaper.install_signal_handlers()
    shop = Shop(Path(args.workdir), reaper)
    lines: list[str] = []
    status = 0
    try:
        shop.prepare(products=100)
        shop.start(workers=2)
        shop.set_stock()
        products = shop.products()
        tokens = shop.create_users(50, run_id="p" + datetime.now(UTC).strftime("%H%M%S"))
        tokens_file = Path(args.workdir) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        method = WrkMethod(duration=f"{args.seconds + 6}s")
        loads = {
            "catalogue": loadgen.wrk_command(
                method, f"{shop.url}/api/products", 100, method.duration, latency=True
            ),
            "order": loadgen.wrk_command(
                method, f"{shop.url}/api/orders", 100, method.duration, latency=True,
                lua=loadgen.LUA_DIR / "order.lua",
                lua_args=[str(tokens_file), ",".join(str(p["id"]) for p in products), "profile"],
            ),
        }  # fmt: skip
        for name in [n.strip() for n in args.loads.split(",") if n.strip()]:
            wrk_line = profile_load(shop, reaper, name, loads[name], args.seconds, out, args.rate)
            lines += [
                f"## {name}",
                "",
                wrk_line,
                "",
                f"- flame graph (worker 1): [profile-{name}.svg](profile-{name}.svg)",
                f"- top functions (worker 2): [profile-{name}-top.md](profile-{name}-top.md)",
                "",
            ]
    except KeyboardInterrupt:
        status = 130
    except Exception as exc:
        log(f"profiling failed: {exc}")
        status = 1
    finally:
        reaper.stop_all()
    if lines:
        git = system.git_state(REPO)
        head = [
            "# py-spy profiles of a cloudmall worker under load",
            "",
            f"Generated by `python -m bench.profile` on {datetime.now(UTC):%Y-%m-%d %H:%M UTC}, "
            f"commit `{git['commit']}`{' (uncommitted changes)' if git['dirty'] else ''}; "
            f"py-spy record, {args.rate} Hz, {args.seconds} s per load, cloudmall with 2 workers "
            "on MariaDB + Redis (as `make bench`). Open the SVGs in a browser (they are "
            "interactive).",
            "",
        ]
        (out / "profile.md").write_text("\n".join(head + lines).rstrip() + "\n")
        log(f"wrote {out / 'profile.md'}")
    return status


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
