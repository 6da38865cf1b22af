"""What tracing costs: catalogue and order throughput with CLOUDMALL_TRACING off, console and
otlp, at sampling ratios 1.0 and 0.1, side by side in one run (docs/observability.md).

    python -m bench.tracing [--duration 10s] [--rounds 1]

The same shop as `make bench` (MariaDB + Redis, `serve --workers 2`, uvicorn), in a database and
Redis prefix of its own, restarted for each variant with only the tracing settings changed; the
variants take turns, round after round. `otlp` sends to a sink in this process that reads each
export and answers 200 (a collector that keeps nothing), so the figure includes encoding and
sending every span; `console` writes every span as JSON to the server's log file. Everything on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import loadgen, report, services, system
from bench.loadgen import WrkMethod
from bench.services import Shop

REPO = Path(__file__).resolve().parent.parent
DATABASE = "cloudmall_bench_tracing"
CACHE_URL = "redis://127.0.0.1:6379/0?prefix=bench-tracing:"
CONNECTIONS = 100
ORDER_TOKENS = 50


@dataclass(frozen=True)
class Variant:
    label: str
    mode: str
    ratio: float = 1.0


VARIANTS = (
    Variant("off", "off"),
    Variant("console, ratio 1.0", "console"),
    Variant("console, ratio 0.1", "console", 0.1),
    Variant("otlp, ratio 1.0", "otlp"),
    Variant("otlp, ratio 0.1", "otlp", 0.1),
)


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that reads each export and keeps nothing."""

    exports = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).exports += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_sink() -> ThreadingHTTPServer:
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    return sink


def prepare(shop: Shop) -> None:
    """A fresh database of this bench's own, 100 demo products, the staff account."""
    services.mariadb(f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE}")
    services.clear_redis_prefix("bench-tracing:")
    shop.run_cli("migrate")
    shop.run_cli("seed", "--products", "100")
    shop.run_cli("admin", "create", services.ADMIN_EMAIL, "--password", services.ADMIN_PASSWORD)


def variant_of(base: Shop, variant: Variant, sink_port: int) -> Shop:
    env = {
        **base.env,
        "CLOUDMALL_TRACING": variant.mode,
        "CLOUDMALL_TRACING_SAMPLE_RATIO": str(variant.ratio),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
    }
    return Shop(base.workdir, base.reaper, cli=base.cli, env=env, server=base.server)


def measure(shop: Shop, wrk: WrkMethod, tokens: Path, ids: str, tag: str, raw: Path) -> dict:
    catalogue = loadgen.measure(
        wrk, f"{shop.url}/api/products", CONNECTIONS,
        server_pids=shop.all_pids, rss_pids=shop.worker_pids, raw_dir=raw, name=f"{tag}-catalogue",
    )  # fmt: skip
    order = loadgen.measure(
        wrk, f"{shop.url}/api/orders", CONNECTIONS, lua=loadgen.LUA_DIR / "order.lua",
        lua_args=lambda phase: [str(tokens), ids, f"{tag}-{phase}"],
        server_pids=shop.all_pids, rss_pids=shop.worker_pids, raw_dir=raw, name=f"{tag}-order",
    )  # fmt: skip
    return {"catalogue": catalogue, "order": order}


def cpu_ms_per_request(measured: dict[str, Any]) -> float:
    """The server's CPU time per answered request (all its processes): what survives a machine
    busy with other work, where req/s mostly says how much CPU the server was given."""
    cores = os.cpu_count() or 1
    return 1000 * (measured["server_cpu"] or 0.0) * cores / measured["wrk"]["rps"]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| tracing | round | catalogue req/s | CPU ms per catalogue request | order req/s | "
        "order p50 | CPU ms per order |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        cat, order = row["catalogue"], row["order"]
        lines.append(
            f"| {row['label']} | {row['round']} | {cat['wrk']['rps']:,.0f} | "
            f"{cpu_ms_per_request(cat):.2f} | {order['wrk']['rps']:,.0f} | "
            f"{report.fmt_ms(order['wrk']['p50_ms'])} | {cpu_ms_per_request(order):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing", description=__doc__)
    parser.add_argument("--duration", default="10s", help="each measured wrk run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workdir", default=str(REPO / "var" / "bench-tracing"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    raw = workdir / "raw"
    raw.mkdir(parents=True)
    wrk = WrkMethod(duration=args.duration, warmup="3s", pause=2)
    reaper = system.Reaper()
    sink = start_sink()
    rows: list[dict[str, Any]] = []
    try:
        base = Shop(workdir / "shop", reaper)
        base.env.update(
            CLOUDMALL_DATABASE_URL=f"mysql://root@127.0.0.1:3306/{DATABASE}",
            CLOUDMALL_CACHE_URL=CACHE_URL,
        )
        prepare(base)
        base.start(workers=2)
        base.set_stock(services.INITIAL_STOCK)
        tokens = workdir / "tokens.txt"
        tokens.write_text("\n".join(base.create_users(ORDER_TOKENS, run_id="tracing")) + "\n")
        ids = ",".join(str(p["id"]) for p in base.products())
        base.stop()
        for round_index in range(args.rounds):
            for variant in VARIANTS:
                shop = variant_of(base, variant, sink.server_address[1])
                shop.start(workers=2)
                try:
                    tag = f"r{round_index + 1}-{variant.mode}-{variant.ratio:g}"
                    measured = measure(shop, wrk, tokens, ids, tag, raw)
                finally:
                    shop.stop()
                rows.append({"label": variant.label, "round": round_index + 1, **measured})
                time.sleep(2)
    finally:
        sink.shutdown()
        reaper.stop_all()
    (workdir / "results.json").write_text(json.dumps(rows, indent=1, default=str))
    print(table(rows))
    print(f"\nOTLP exports received by the sink: {_Sink.exports}")
    print(f"wrk: -t1 -c{CONNECTIONS} -d{args.duration} (warm-up 3s); raw output in {raw}")


if __name__ == "__main__":
    main()
