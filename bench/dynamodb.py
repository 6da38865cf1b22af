"""The same cloudmall server on MariaDB and on DynamoDB (moto's server), side by side.

    python -m bench.dynamodb     # ~10 min -> var/bench-dynamodb/report.md and results.json

One run starts a local DynamoDB (moto's server, one request at a time: `tests/moto_serial.py`),
then two shops, each `cloudmall serve --workers 2` with Redis as the cache: one on a fresh
MariaDB database, one on a fresh table. Each gets 100 products (`cloudmall seed`) with ample
stock and 50 customers signed up through the API. Then, in alternating rounds (each backend goes
first in turn), wrk measures the catalogue from the cache (GET /api/products), the catalogue
past the cache (a search term no request used before: every request reads the database) and
the real order (POST /api/orders, order.lua); then each scenario's requests one after another,
to time one request and count the DynamoDB requests it makes (moto's log). Everything on
127.0.0.1; everything started is stopped at the end, on failure and on Ctrl-C; the run is cut
off after 15 minutes.

moto is a functional stand-in, not DynamoDB: a single-threaded Python process answering one
request at a time. Its figures bound what this machine does through moto, not what DynamoDB
does (docs/dynamodb.md estimates that from DynamoDB's documented latencies).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import loadgen, report, services, system
from bench.loadgen import WrkMethod
from bench.services import Shop, log

REPO = Path(__file__).resolve().parent.parent
DATABASE = "cloudmall_bench_dynamo"
CACHE_PREFIX = "bench-dynamo-"
PRODUCTS = 100
CUSTOMERS = 50
MAX_MINUTES = 15
#: wrk connections per scenario, the same on both backends: moto answers one request at a time
#: (a catalogue Query of 100 items takes it ~0.4 s), so past the cache one connection per worker.
CONNECTIONS = {"cached": 50, "uncached": 2, "order": 2}
#: Requests sent one after another per scenario, to time one request and count moto's requests.
SEQUENTIAL = 20
#: Moto's AWS settings: fixed local credentials, not secrets.
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-2",
}


def start_moto(reaper: system.Reaper, workdir: Path) -> int:
    """moto's server answering one request at a time, as the tests run it."""
    port = services.free_port()
    with (workdir / "moto.log").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.moto_serial", str(port)],
            cwd=REPO, env={**os.environ, **AWS}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    reaper.add("moto", lambda: system.stop_group(process))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if services.http("GET", f"http://127.0.0.1:{port}/moto-api/", timeout=2).status < 500:
                log(f"moto's server (serial) on 127.0.0.1:{port} (pid {process.pid})")
                return port
        time.sleep(0.3)
    raise RuntimeError("moto's server did not start in 30 s")


def shop(backend: str, workdir: Path, reaper: system.Reaper, moto_port: int) -> Shop:
    """A fresh shop on `backend`, seeded, its staff account made, serving, stock set."""
    if backend == "mariadb":
        url = f"mysql://root@127.0.0.1:3306/{DATABASE}"
        services.mariadb(f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE}")
    else:
        endpoint = f"http://127.0.0.1:{moto_port}"
        url = (
            f"dynamodb://bench-{secrets.token_hex(4)}?region=ap-northeast-2&endpoint_url={endpoint}"
        )
    prefix = f"{CACHE_PREFIX}{backend}:"
    services.clear_redis_prefix(prefix)
    folder = workdir / backend
    env = {
        **os.environ,
        **AWS,
        "CLOUDMALL_DATABASE_URL": url,
        "CLOUDMALL_CACHE_URL": f"redis://127.0.0.1:6379/0?prefix={prefix}",
        "CLOUDMALL_STORAGE_URL": f"file://{(folder / 'media').resolve()}",
        "CLOUDMALL_VAR_DIR": str((folder / "var").resolve()),
        "CLOUDMALL_SECRET_KEY": secrets.token_hex(32),
        "CLOUDMALL_TOKEN_TTL_SECONDS": "14400",
        "CLOUDMALL_SIGNUPS_PER_CLIENT": "1000000",
        "PYTHONUNBUFFERED": "1",
    }
    served = Shop(folder, reaper, env=env)
    served.run_cli("migrate")
    log(f"{backend}: cloudmall seed --products {PRODUCTS}")
    served.run_cli("seed", "--products", str(PRODUCTS))
    served.run_cli("admin", "create", services.ADMIN_EMAIL, "--password", services.ADMIN_PASSWORD)
    served.start(workers=2)
    served.set_stock(services.INITIAL_STOCK)
    return served


def measure_all(
    shops: dict[str, Shop], tokens: dict[str, Path], rounds: int, method: WrkMethod, raw: Path
) -> list[dict[str, Any]]:
    """Every scenario on every backend, `rounds` times, alternating which backend goes first."""
    rows = []
    order = list(shops)
    for round_index in range(rounds):
        for scenario in ("cached", "uncached", "order"):
            for backend in order[round_index % 2 :] + order[: round_index % 2]:
                served = shops[backend]
                url, lua, args = f"{served.url}/api/products", None, None
                tag = f"{backend}{round_index}{scenario}"
                if scenario == "uncached":
                    lua = loadgen.LUA_DIR / "uncached.lua"
                    args = lambda phase, t=tag: [f"{t}{phase}"]  # noqa: E731
                elif scenario == "order":
                    url, lua = f"{served.url}/api/orders", loadgen.LUA_DIR / "order.lua"
                    ids = ",".join(str(p["id"]) for p in served.products())
                    args = lambda phase, t=tag, b=backend, i=ids: [str(tokens[b]), i, f"{t}{phase}"]  # noqa: E731
                else:
                    services.expect(services.http("GET", url), 200, what="warm the cache")
                row = loadgen.measure(
                    method, url, CONNECTIONS[scenario], lua=lua, lua_args=args,
                    server_pids=served.all_pids, rss_pids=served.worker_pids,
                    raw_dir=raw, name=f"{scenario}-{backend}-r{round_index + 1}",
                )  # fmt: skip
                rows.append({"backend": backend, "scenario": scenario, "round": round_index + 1,
                             **row})  # fmt: skip
    return rows


def _moto_requests(log_file: Path) -> int:
    return sum(1 for line in log_file.read_text(errors="replace").splitlines() if '"POST /' in line)


def one_at_a_time(
    shops: dict[str, Shop], tokens: dict[str, Path], moto_log: Path
) -> list[dict[str, Any]]:
    """Each scenario's requests one after another: the median time of one request and, on
    DynamoDB, how many requests moto answered per request (its background rate subtracted: the
    mail reader polls the outbox)."""
    rows = []
    for backend, served in shops.items():
        token = tokens[backend].read_text().split()[0]
        product = served.products()[0]["id"]
        before, started = _moto_requests(moto_log), time.monotonic()
        time.sleep(5)
        background = (_moto_requests(moto_log) - before) / (time.monotonic() - started)
        for scenario in ("cached", "uncached", "order"):
            if scenario == "cached":
                services.expect(
                    services.http("GET", f"{served.url}/api/products"), 200, what="warm"
                )
            took = []
            before, started = _moto_requests(moto_log), time.monotonic()
            for _ in range(SEQUENTIAL):
                begun = time.perf_counter()
                if scenario == "order":
                    answer = services.http(
                        "POST", f"{served.url}/api/orders", token=token,
                        body={"items": [{"productId": product, "quantity": 1}]},
                        headers={"Idempotency-Key": f"one-{secrets.token_hex(8)}"},
                    )  # fmt: skip
                    services.expect(answer, 201, what="order")
                else:
                    query = f"?q=zz{secrets.token_hex(6)}" if scenario == "uncached" else ""
                    services.expect(
                        services.http("GET", f"{served.url}/api/products{query}"), 200, what="list"
                    )
                took.append((time.perf_counter() - begun) * 1000)
            calls = _moto_requests(moto_log) - before - background * (time.monotonic() - started)
            rows.append(
                {
                    "scenario": scenario,
                    "backend": backend,
                    "median_ms": statistics.median(took),
                    "moto_requests": max(calls, 0) / SEQUENTIAL if backend == "dynamodb" else None,
                }
            )
            log(f"one at a time, {scenario} on {backend}: {rows[-1]}")
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The median round of each (scenario, backend)."""
    found = []
    for scenario in ("cached", "uncached", "order"):
        for backend in ("mariadb", "dynamodb"):
            mine = [r for r in rows if r["scenario"] == scenario and r["backend"] == backend]
            if not mine:
                continue
            found.append(
                {
                    "scenario": scenario,
                    "backend": backend,
                    "rps": statistics.median(r["wrk"]["rps"] for r in mine),
                    "p50_ms": statistics.median(r["wrk"]["p50_ms"] or 0 for r in mine),
                    "p99_ms": statistics.median(r["wrk"]["p99_ms"] or 0 for r in mine),
                    "errors": sum(report.wrk_errors(r["wrk"]) for r in mine),
                    "rounds": [r["wrk"]["rps"] for r in mine],
                }
            )
    return found


def _rate(rps: float) -> str:
    return f"{rps:,.1f}" if rps < 10 else f"{rps:,.0f}"


LABELS = {
    "cached": "catalogue, cached (GET /api/products)",
    "uncached": "catalogue, past the cache (GET /api/products?q=<new term>)",
    "order": "order (POST /api/orders)",
}


def markdown(meta: dict[str, Any], rows: list[dict[str, Any]], single: list[dict[str, Any]]) -> str:
    lines = [
        f"Measured {meta['date']} with `{meta['command']}` (load average before "
        f"{meta['load_before']}, after {meta['load_after']}; {meta['machine']['nproc']} × "
        f"{meta['machine']['cpu_model']}); "
        f"wrk -t1 -d{meta['wrk']['duration']} after a {meta['wrk']['warmup']} warm-up, "
        f"{meta['rounds']} alternating rounds, the median round shown.",
        "",
        "| scenario | connections | backend | req/s | p50 | p99 | errors | each round (req/s) |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {LABELS[row['scenario']]} | {CONNECTIONS[row['scenario']]} | {row['backend']} | "
            f"{_rate(row['rps'])} | "
            f"{row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms | {row['errors']} | "
            f"{', '.join(_rate(r) for r in row['rounds'])} |"
        )
    lines += [
        "",
        f"One request at a time ({SEQUENTIAL} each, after the runs above):",
        "",
        "| scenario | backend | median | moto's requests per request |",
        "|---|---|---:|---:|",
    ]
    for row in single:
        calls = row["moto_requests"]
        lines.append(
            f"| {LABELS[row['scenario']]} | {row['backend']} | {row['median_ms']:.1f} ms | "
            f"{'—' if calls is None else f'{calls:.1f}'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dynamodb", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--out", default=str(REPO / "var" / "bench-dynamodb"))
    args = parser.parse_args(argv)
    for tool in ("wrk", "mariadb", "redis-cli"):
        if not shutil.which(tool):
            print(f"bench: `{tool}` is required (apt-get install wrk mariadb-client redis-tools)")
            return 2
    out = Path(args.out)
    raw = out / "raw"
    workdir = Path(tempfile.mkdtemp(prefix="cloudmall-bench-dynamodb-"))
    shutil.rmtree(raw, ignore_errors=True)
    method = WrkMethod(duration=args.duration, warmup="3s", pause=2, timeout="10s")
    reaper = system.Reaper()
    reaper.install_signal_handlers()

    def overtime(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"the run exceeded {MAX_MINUTES} minutes")

    signal.signal(signal.SIGALRM, overtime)
    signal.alarm(MAX_MINUTES * 60)
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "make bench-dynamodb",
        "machine": system.machine(),
        "load_before": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "rounds": args.rounds,
        "wrk": {"duration": method.duration, "warmup": method.warmup, "timeout": method.timeout},
    }
    try:
        moto_port = start_moto(reaper, workdir)
        shops = {backend: shop(backend, workdir, reaper, moto_port)
                 for backend in ("mariadb", "dynamodb")}  # fmt: skip
        tokens = {}
        for backend, served in shops.items():
            log(f"{backend}: signing up {CUSTOMERS} customers through the API")
            tokens[backend] = workdir / f"tokens-{backend}.txt"
            signed = served.create_users(CUSTOMERS, run_id=f"{backend}-{secrets.token_hex(3)}")
            tokens[backend].write_text("\n".join(signed) + "\n")
        rows = measure_all(shops, tokens, args.rounds, method, raw)
        single = one_at_a_time(shops, tokens, workdir / "moto.log")
        conserved = services.conservation(DATABASE)
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc or 'Ctrl-C'}): no report written")
        return 130
    finally:
        signal.alarm(0)
        log("stopping everything this run started")
        reaper.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    meta["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["mariadb_stock_conservation"] = conserved
    medians = summary(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(
            {"meta": meta, "summary": medians, "one_at_a_time": single, "runs": rows}, indent=1
        )
        + "\n"
    )
    text = markdown(meta, medians, single)
    (out / "report.md").write_text(text)
    print(text)
    log(f"MariaDB stock conservation: {conserved}")
    log(f"wrote {out / 'report.md'} and results.json")
    return 0 if conserved["holds"] else 1


if __name__ == "__main__":
    sys.exit(main())
