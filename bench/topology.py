"""The monolith and the services topology on this machine, side by side.

    python -m bench.topology     # `make bench-services`, ~6 min -> var/bench-services/

The monolith is one `cloudmall serve --workers 2` on the MariaDB database `cm_bench_monolith`;
the services topology is the four `cloudmall serve --service NAME`, one worker each, on the
MariaDB databases `cm_bench_users`, `cm_bench_products`, … with nginx in front (the config
`cloudmall gateway config` writes, the environment `cloudmall services run` gives each service,
the broker on Redis). Fairness is per CPU: the machine has 2 cores, the monolith gets 2 workers
and the topology 4 service processes (+ nginx) — giving each service 2 would put 8 workers on
2 cores. Both use Redis as the cache, 100 products (`cloudmall seed`) with ample stock and 25
customers signed up through the front. In alternating rounds (each topology goes first in turn)
wrk measures the cached catalogue (GET /api/products, 100 connections) and the whole order
(POST /api/orders with an Idempotency-Key, order.lua, 16 connections, and 2 for the cost of one
order with little queueing) through each front; the medians of the rounds are compared with
the targets. Everything on 127.0.0.1; everything started
is stopped at the end, on failure and on Ctrl-C; the databases are dropped.

This module imports cloudmall for the topology's own environment and gateway config, so that
what runs is what `cloudmall services run` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import loadgen, report, services, system
from bench.loadgen import WrkMethod
from bench.services import log

REPO = Path(__file__).resolve().parent.parent
DB_PREFIX = "cm_bench"
REDIS = "redis://127.0.0.1:6379/0"
PRODUCTS = 100
CUSTOMERS = 25
MONOLITH_WORKERS = 2
SERVICE_WORKERS = 1
#: "order_light" times one order with little queueing: the hop's own cost, which "order" (at the
#: concurrency the target is checked at) hides in the queue once both fronts are saturated.
CONNECTIONS = {"catalogue": 100, "order": 16, "order_light": 2}
MAX_MINUTES = 15
#: The issue's targets: the topology's catalogue req/s at least this share of the monolith's,
#: its order p95 at most this multiple of the monolith's.
CATALOGUE_MIN_RATIO = 0.5
ORDER_P95_MAX_RATIO = 2.0


def p95_ms(output: str) -> float | None:
    """The p95 status.lua's done() prints (`bench-latency p95=<µs>`), in milliseconds."""
    found = re.search(r"^bench-latency p95=(\d+)\s*$", output, re.MULTILINE)
    return int(found.group(1)) / 1000 if found else None


def errors(wrk: dict[str, Any]) -> int:
    """Failed requests: socket errors, timeouts, and answers other than 2xx."""
    status = wrk.get("status") or {}
    if status:
        socket = report.wrk_errors(wrk) - int(wrk["non_2xx_3xx"])
        return socket + sum(int(n) for kind, n in status.items() if kind != "2xx")
    return report.wrk_errors(wrk)


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The median round of each (scenario, topology), with every round's req/s."""
    found = []
    for scenario in CONNECTIONS:
        for topology in ("monolith", "services"):
            mine = [r for r in rows if r["scenario"] == scenario and r["topology"] == topology]
            if not mine:
                continue

            def median(key: str, rounds: list[dict[str, Any]] = mine) -> float | None:
                values = [r[key] for r in rounds if r[key] is not None]
                return statistics.median(values) if values else None

            found.append(
                {
                    "scenario": scenario,
                    "topology": topology,
                    "rps": statistics.median(r["rps"] for r in mine),
                    "p50_ms": median("p50_ms"),
                    "p95_ms": median("p95_ms"),
                    "p99_ms": median("p99_ms"),
                    "errors": sum(r["errors"] for r in mine),
                    "rounds": [r["rps"] for r in mine],
                }
            )
    return found


@dataclass(frozen=True)
class Verdict:
    catalogue_ratio: float  # the topology's req/s over the monolith's
    order_p95_ratio: float  # the topology's p95 over the monolith's

    @property
    def catalogue_met(self) -> bool:
        return self.catalogue_ratio >= CATALOGUE_MIN_RATIO

    @property
    def order_met(self) -> bool:
        return self.order_p95_ratio <= ORDER_P95_MAX_RATIO


def verdict(medians: list[dict[str, Any]]) -> Verdict:
    """The two ratios the issue sets targets for, from `summary`'s rows."""
    by = {(r["scenario"], r["topology"]): r for r in medians}
    mono, split = by["catalogue", "monolith"], by["catalogue", "services"]
    order_mono, order_split = by["order", "monolith"], by["order", "services"]
    return Verdict(
        catalogue_ratio=split["rps"] / mono["rps"],
        order_p95_ratio=order_split["p95_ms"] / order_mono["p95_ms"],
    )


def conservation(products_db: str, orders_db: str) -> dict[str, Any]:
    """Stock conservation across the two contexts' databases (the same as one database's when
    both are the monolith's): units out of stock = units in orders not cancelled."""
    row = services.mariadb(
        f"SELECT (SELECT COALESCE(SUM({services.INITIAL_STOCK} - stock_quantity), 0)"  # noqa: S608 - constants only
        f" FROM {products_db}.products),"
        f" (SELECT COALESCE(SUM(l.quantity), 0) FROM {orders_db}.order_lines l"
        f"  JOIN {orders_db}.orders o ON o.id = l.order_id WHERE o.status <> 'cancelled'),"
        f" (SELECT COUNT(*) FROM {orders_db}.orders)"
    )[0]
    out, ordered, orders = (int(x) for x in row)
    return {"units_out": out, "units_ordered": ordered, "orders": orders, "holds": out == ordered}


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:,.1f} ms"


LABELS = {
    "catalogue": "catalogue, cached (GET /api/products)",
    "order": "order (POST /api/orders, Idempotency-Key)",
    "order_light": "order, light load",
}


def markdown(meta: dict[str, Any], medians: list[dict[str, Any]], found: Verdict) -> str:
    lines = [
        f"Measured {meta['date']} with `{meta['command']}` ({meta['machine']['nproc']} × "
        f"{meta['machine']['cpu_model']}; load average before {meta['load_before']}, during "
        f"{meta['load_during']} with this run's own load, after {meta['load_after']}; the CPUs "
        f"{_share(meta['idle_busy'])} busy in the 1 s pauses between runs: others' work and "
        "this run's background work): "
        f"monolith {MONOLITH_WORKERS} workers, services {meta['service_workers']} worker(s) each "
        "+ nginx; "
        f"wrk -t1 -d{meta['wrk']['duration']} after a {meta['wrk']['warmup']} warm-up, "
        f"{meta['rounds']} alternating rounds, the median of the rounds column by column.",
        "",
        "| scenario | connections | topology | req/s | p50 | p95 | p99 | errors "
        "| each round (req/s) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in medians:
        lines.append(
            f"| {LABELS[row['scenario']]} | {CONNECTIONS[row['scenario']]} | {row['topology']} | "
            f"{row['rps']:,.0f} | {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | "
            f"{_ms(row['p99_ms'])} | {row['errors']} | "
            f"{', '.join(f'{r:,.0f}' for r in row['rounds'])} |"
        )
    lines += [
        "",
        f"- catalogue req/s, services ÷ monolith: **{found.catalogue_ratio:.2f}** (target ≥ "
        f"{CATALOGUE_MIN_RATIO}: {'met' if found.catalogue_met else 'not met'})",
        f"- order p95, services ÷ monolith: **{found.order_p95_ratio:.2f}** (target ≤ "
        f"{ORDER_P95_MAX_RATIO:g}: {'met' if found.order_met else 'not met'})",
    ]
    for name, ledger in meta.get("stock_conservation", {}).items():
        lines.append(
            f"- stock conservation, {name}: {ledger['units_out']:,} units out of stock, "
            f"{ledger['units_ordered']:,} in {ledger['orders']:,} orders "
            f"({'holds' if ledger['holds'] else 'does not hold'})"
        )
    return "\n".join(lines) + "\n"


def _share(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.0f} %"


# --- the two fronts ---------------------------------------------------------------------------


@dataclass
class Front:
    """What the load goes to: its URL, its processes, and its customers' tokens."""

    name: str
    url: str
    processes: list[subprocess.Popen[bytes]]
    tokens: Path | None = None

    def pids(self) -> list[int]:
        found = []
        for process in self.processes:
            try:
                root = psutil.Process(process.pid)
                found += [root.pid, *(c.pid for c in root.children(recursive=True))]
            except psutil.Error:
                continue
        return found


def _fresh_database(name: str) -> str:
    services.mariadb(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}")
    return f"mysql://root@127.0.0.1:3306/{name}"


def _base_env(workdir: Path, cache_prefix: str) -> dict[str, str]:
    services.clear_redis_prefix(cache_prefix)
    return {
        **os.environ,
        "CLOUDMALL_CACHE_URL": f"{REDIS}?prefix={cache_prefix}",
        "CLOUDMALL_STORAGE_URL": f"file://{(workdir / 'media').resolve()}",
        "CLOUDMALL_SECRET_KEY": secrets.token_hex(32),
        "CLOUDMALL_TOKEN_TTL_SECONDS": "14400",  # outlives the run
        "CLOUDMALL_SIGNUPS_PER_CLIENT": "1000000",  # every customer signs up from 127.0.0.1
        "PYTHONUNBUFFERED": "1",
    }


def _cli(env: dict[str, str], workdir: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cloudmall", *args], env=env, cwd=workdir,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"cloudmall {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def _serve(
    name: str, env: dict[str, str], workdir: Path, reaper: system.Reaper, port: int, *extra: str
) -> subprocess.Popen[bytes]:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cloudmall", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--no-demo", *extra],
            env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    reaper.add(name, lambda: system.stop_group(process))
    try:
        services.wait_ready(f"http://127.0.0.1:{port}/readyz", process, timeout=120)
    except RuntimeError as exc:
        raise RuntimeError(
            f"{name}: {exc}; log {log_path}:\n{log_path.read_text()[-3000:]}"
        ) from exc
    log(f"{name} on 127.0.0.1:{port} (pid {process.pid})")
    return process


def monolith(workdir: Path, reaper: system.Reaper) -> Front:
    folder = workdir / "monolith"
    folder.mkdir(parents=True)
    env = {
        **_base_env(folder, "cm-bench-mono:"),
        "CLOUDMALL_DATABASE_URL": _fresh_database(f"{DB_PREFIX}_monolith"),
        "CLOUDMALL_VAR_DIR": str((folder / "var").resolve()),
    }
    _cli(env, folder, "migrate")
    _cli(env, folder, "seed", "--products", str(PRODUCTS))
    _cli(
        env, folder, "admin", "create", services.ADMIN_EMAIL, "--password", services.ADMIN_PASSWORD
    )
    port = services.free_port()
    process = _serve("monolith", env, folder, reaper, port, "--workers", str(MONOLITH_WORKERS))
    return Front("monolith", f"http://127.0.0.1:{port}", [process])


def topology(workdir: Path, reaper: system.Reaper, workers: int) -> Front:
    from cloudmall.cli.gateway import render  # the topology as `cloudmall services run` makes it
    from cloudmall.cli.services import service_environments
    from cloudmall.config import ServiceName

    folder = (workdir / "services").resolve()
    folder.mkdir(parents=True)
    ports = {service: services.free_port() for service in ServiceName}
    gateway_port = services.free_port()
    services.clear_redis_prefix("cm-bench-broker:")
    environments = service_environments(
        base=_base_env(folder, "cm-bench-svc:"),
        databases={s: _fresh_database(f"{DB_PREFIX}_{s.value}") for s in ServiceName},
        ports=ports,
        var_dir=folder,
        public_url=f"http://127.0.0.1:{gateway_port}",
        broker_url=f"{REDIS}?prefix=cm-bench-broker:",
    )
    processes = []
    for service in ServiceName:
        env = environments[service]
        _cli(env, folder, "migrate")
        if service is ServiceName.PRODUCTS:
            _cli(env, folder, "seed", "--products", str(PRODUCTS))
        if service is ServiceName.USERS:
            _cli(env, folder, "admin", "create", services.ADMIN_EMAIL,
                 "--password", services.ADMIN_PASSWORD)  # fmt: skip
        processes.append(
            _serve(
                service.value,
                env,
                folder,
                reaper,
                ports[service],
                "--service",
                service.value,
                "--workers",
                str(workers),
            )
        )
    nginx = shutil.which("nginx")
    if nginx is None:
        raise RuntimeError("nginx is not installed")
    gateway = folder / "gateway"
    gateway.mkdir()
    conf = gateway / "nginx.conf"
    conf.write_text(
        render(
            {s: f"127.0.0.1:{p}" for s, p in ports.items()},
            listen=f"127.0.0.1:{gateway_port}",
            prefix=gateway,
        )
    )
    process = subprocess.Popen(
        [nginx, "-p", str(gateway), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    reaper.add("gateway", lambda: system.stop_group(process))
    url = f"http://127.0.0.1:{gateway_port}"
    services.wait_ready(f"{url}/api/products", process, timeout=30)
    log(f"nginx gateway on {url} (pid {process.pid})")
    return Front("services", url, [*processes, process])


def prepare(front: Front, workdir: Path) -> None:
    """Ample stock on every product (the staff API), and customers signed up, through the front."""
    shop = services.Shop(workdir / f"clients-{front.name}", system.Reaper(), env=dict(os.environ))
    shop.port = int(front.url.rsplit(":", 1)[1])
    login = services.expect(
        services.http("POST", f"{front.url}/api/auth/login",
                      body={"email": services.ADMIN_EMAIL, "password": services.ADMIN_PASSWORD}),
        200, what="admin login",
    )  # fmt: skip
    shop.admin_token = login.json()["access_token"]
    shop.set_stock(services.INITIAL_STOCK)
    log(f"{front.name}: signing up {CUSTOMERS} customers through {front.url}")
    front.tokens = workdir / f"tokens-{front.name}.txt"
    signed = shop.create_users(CUSTOMERS, run_id=f"{front.name}-{secrets.token_hex(3)}")
    front.tokens.write_text("\n".join(signed) + "\n")


def _tagged(fixed: list[str], tag: str) -> Callable[[str], list[str]]:
    """The Lua script's arguments: `fixed`, then the run's tag for the phase (warm-up or run)."""
    return lambda phase: [*fixed, f"{tag}{phase}"]


def measure_all(
    fronts: list[Front], rounds: int, method: WrkMethod, raw: Path
) -> list[dict[str, Any]]:
    """Both scenarios on both fronts, `rounds` times, alternating which front goes first."""
    rows = []
    for round_index in range(rounds):
        for scenario in CONNECTIONS:
            for front in fronts[round_index % 2 :] + fronts[: round_index % 2]:
                tag = f"{front.name}{round_index}{scenario}{secrets.token_hex(2)}"
                if scenario.startswith("order"):
                    url, lua = f"{front.url}/api/orders", loadgen.LUA_DIR / "order.lua"
                    listed = services.http("GET", f"{front.url}/api/products").json()
                    fixed = [str(front.tokens), ",".join(str(p["id"]) for p in listed)]
                else:
                    url, lua = f"{front.url}/api/products", loadgen.LUA_DIR / "get.lua"
                    services.expect(services.http("GET", url), 200, what="warm the cache")
                    fixed = []
                name = f"{scenario}-{front.name}-r{round_index + 1}"
                row = loadgen.measure(
                    method, url, CONNECTIONS[scenario], lua=lua, lua_args=_tagged(fixed, tag),
                    server_pids=front.pids, raw_dir=raw, name=name,
                )  # fmt: skip
                wrk = row["wrk"]
                rows.append(
                    {
                        "topology": front.name,
                        "scenario": scenario,
                        "round": round_index + 1,
                        "rps": wrk["rps"],
                        "p50_ms": wrk["p50_ms"],
                        "p95_ms": p95_ms((raw / f"{name}.txt").read_text()),
                        "p99_ms": wrk["p99_ms"],
                        "errors": errors(wrk),
                        "load": os.getloadavg()[0],
                        "measured": row,
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.topology", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", default="5s")
    parser.add_argument(
        "--service-workers", type=int, default=SERVICE_WORKERS,
        help="workers per service (default 1: the monolith's 2 are the machine's 2 cores)",
    )  # fmt: skip
    parser.add_argument("--out", default=str(REPO / "var" / "bench-services"))
    args = parser.parse_args(argv)
    for tool in ("wrk", "mariadb", "redis-cli", "nginx"):
        if not shutil.which(tool):
            print(f"bench: `{tool}` is required (apt-get install wrk mariadb-client redis-tools "
                  "nginx)")  # fmt: skip
            return 2
    out = Path(args.out)
    raw = out / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    workdir = Path(tempfile.mkdtemp(prefix="cloudmall-bench-services-"))
    method = WrkMethod(duration=args.duration, warmup="2s", pause=1, timeout="5s")
    reaper = system.Reaper()
    reaper.install_signal_handlers()

    def overtime(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"the run exceeded {MAX_MINUTES} minutes")

    signal.signal(signal.SIGALRM, overtime)
    signal.alarm(MAX_MINUTES * 60)
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "make bench-services",
        "machine": system.machine(),
        "load_before": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "rounds": args.rounds,
        "service_workers": args.service_workers,
        "wrk": {"duration": method.duration, "warmup": method.warmup, "timeout": method.timeout},
    }
    databases = [f"{DB_PREFIX}_monolith", *(f"{DB_PREFIX}_{s}" for s in
                 ("users", "products", "orders", "payments"))]  # fmt: skip
    try:
        fronts = [monolith(workdir, reaper), topology(workdir, reaper, args.service_workers)]
        for front in fronts:
            prepare(front, workdir)
        rows = measure_all(fronts, args.rounds, method, raw)
        meta["stock_conservation"] = {
            "monolith": conservation(f"{DB_PREFIX}_monolith", f"{DB_PREFIX}_monolith"),
            "services": conservation(f"{DB_PREFIX}_products", f"{DB_PREFIX}_orders"),
        }
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc or 'Ctrl-C'}): no report written")
        return 130
    finally:
        signal.alarm(0)
        log("stopping everything this run started; dropping its databases")
        reaper.stop_all()
        services.mariadb("; ".join(f"DROP DATABASE IF EXISTS {d}" for d in databases))
        for prefix in ("cm-bench-mono:", "cm-bench-svc:", "cm-bench-broker:"):
            services.clear_redis_prefix(prefix)
        shutil.rmtree(workdir, ignore_errors=True)
    meta["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    loads = [r["load"] for r in rows]
    meta["load_during"] = f"{min(loads):.2f}–{max(loads):.2f}"
    busy = [r["measured"]["pause_busy"] for r in rows if r["measured"]["pause_busy"] is not None]
    meta["idle_busy"] = statistics.median(busy) if busy else None
    medians = summary(rows)
    found = verdict(medians)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "summary": medians, "runs": rows}, indent=1) + "\n"
    )
    text = markdown(meta, medians, found)
    (out / "report.md").write_text(text)
    print(text)
    log(f"wrote {out / 'report.md'} and results.json")
    return 0 if all(ledger["holds"] for ledger in meta["stock_conservation"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
