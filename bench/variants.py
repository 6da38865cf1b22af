"""Server set-ups side by side on the cached catalogue, with the Express peer, alternating.

    python -m bench.variants uvicorn:2 granian:1 granian:1:GRANIAN_RUNTIME_THREADS=2 granian:2 \
        [--conns 100] [--rounds 2] [--seconds 10] [--no-peer]

Each set-up is SERVER:WORKERS[:NAME=VALUE...]: `cloudmall serve --server SERVER --workers WORKERS`
with those environment variables. The shop is prepared once as bench.run does (fresh MariaDB
database, 100 products, Redis) and every set-up serves it from a process of its own, idle while
another is measured. Each row is bench.run's catalogue method (warm-up 3 s, pause 2 s, measured
run, wrk -t1 --timeout 2s); the rounds rotate who goes first. Prints a Markdown table: req/s per
round, median, median against the peer's, timeouts and other errors, p99.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import loadgen, report, run, services, system
from bench.loadgen import WrkMethod
from bench.services import Peer, Shop, log


@dataclass
class Setup:
    label: str
    server: str
    workers: int
    env: dict[str, str]
    # by connections: (req/s, timeouts, other errors, p99 ms, load average) per round
    rows: dict[int, list[tuple[float, int, int, float, float]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str) -> Setup:
        server, workers, *pairs = spec.split(":")
        env = dict(pair.split("=", 1) for pair in pairs)
        return cls(spec, server, int(workers), env)


def start_all(setups: list[Setup], workdir: Path, reaper: system.Reaper) -> dict[str, Shop]:
    base = Shop(workdir / "shop", reaper)
    base.prepare(products=100)
    shops = {}
    for index, setup in enumerate(setups):
        # a var folder each: `serve` empties its metrics folder on start
        env = {**base.env, "CLOUDMALL_VAR_DIR": str((workdir / f"var-{index}").resolve())}
        shop = Shop(
            base.workdir, reaper, cli=base.cli, env={**env, **setup.env},
            server=setup.server, label=setup.label,
        )  # fmt: skip
        shop.start(workers=setup.workers)
        shops[setup.label] = shop
    return shops


def measure_row(
    target: Shop | Peer, conns: int, method: WrkMethod, raw: Path, name: str
) -> tuple[float, int, int, float, float]:
    if isinstance(target, Peer):
        target.prime_cache()
        pids = target.pids
    else:
        services.expect(services.http("GET", f"{target.url}/api/products"), 200, what="warm")
        pids = target.all_pids
    row = loadgen.measure(
        method, f"{target.url}/api/products", conns, server_pids=pids, raw_dir=raw, name=name
    )
    wrk = row["wrk"]
    return (
        wrk["rps"],
        wrk["timeouts"],
        report.wrk_errors(wrk) - wrk["timeouts"],
        wrk.get("p99_ms") or 0.0,
        os.getloadavg()[0],
    )


def table(setups: list[Setup], conns: list[int]) -> str:
    peer = next((s for s in setups if s.label == "express"), None)
    lines = [
        "| set-up | connections | rounds: req/s | median req/s | × peer | timeouts | other "
        "errors | p99 | load average |",
        "|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for count in conns:
        peer_median = statistics.median(r[0] for r in peer.rows[count]) if peer else None
        for setup in setups:
            rows = setup.rows[count]
            median = statistics.median(r[0] for r in rows)
            ratio = f"{median / peer_median:.2f}×" if peer_median else "–"
            lines.append(
                f"| {setup.label} | {count:,} | {', '.join(f'{r[0]:,.0f}' for r in rows)} | "
                f"{median:,.0f} | {ratio} | {sum(r[1] for r in rows)} | "
                f"{sum(r[2] for r in rows)} | {', '.join(f'{r[3]:.0f} ms' for r in rows)} | "
                f"{', '.join(f'{r[4]:.1f}' for r in rows)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setups", nargs="+", metavar="SERVER:WORKERS[:NAME=VALUE...]")
    parser.add_argument("--conns", type=int, nargs="+", default=[100])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--workdir", help="scratch folder, kept (the servers' logs are in it)")
    args = parser.parse_args()
    method = WrkMethod(duration=f"{args.seconds}s", warmup="3s", pause=2)
    setups = [Setup.parse(spec) for spec in args.setups]
    system.raise_nofile()
    reaper = system.Reaper()
    reaper.install_signal_handlers()
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="cloudmall-variants-"))
    try:
        targets: dict[str, Shop | Peer] = dict(start_all(setups, scratch, reaper))
        if not args.no_peer:
            peer = Peer(run.DEFAULT_PEER, scratch / "peer", reaper)
            peer.start()
            targets["express"] = peer
            setups.append(Setup("express", "", 0, {}))
        log(f"load average {system.load_average()}")
        for count in args.conns:
            for round_index in range(args.rounds):
                for setup in run.Run.rotated(setups, round_index):
                    name = f"{setup.label.replace(':', '_')}-c{count}-r{round_index + 1}"
                    row = measure_row(targets[setup.label], count, method, scratch / "raw", name)
                    setup.rows.setdefault(count, []).append(row)
        print(table(setups, args.conns))
        log(f"load average {system.load_average()}")
    finally:
        reaper.stop_all()
        if not args.workdir:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
