"""The benchmark run: start what is needed, run the scenarios one after the other, write the report.

    python -m bench.run            # full run (~12 min): docs/benchmarks.md + docs/bench/*.png
    python -m bench.run --quick    # short runs for iterating: var/bench-quick/benchmarks.md

Scenarios: catalogue (GET /api/products at 100 and 1,000 connections, and an ETag revalidation),
order (POST /api/orders, the real order vs the peer's single-row insert), users (1,000 locust
shoppers), scaling (1 vs 2 workers). Servers: cloudmall on MariaDB + Redis (its CLI), the
guide's Express app (the peer's start.sh). Everything on 127.0.0.1, stopped at the end, on
failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench import charts, loadgen, report, services, system
from bench.loadgen import WrkMethod
from bench.services import Peer, Shop, log

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_PEER = Path("/work/shared/peers/seed-express")
SCENARIOS = ("catalogue", "order", "users", "scaling")
#: `cloudmall serve --server` choices, each measured side by side; the first is serve's default
#: and the one the users and scaling scenarios run.
HTTP_SERVERS = ("uvicorn", "granian")


@dataclass(frozen=True)
class Plan:
    quick: bool
    wrk: WrkMethod
    rounds: int = 3  # alternating rounds of every server per wrk scenario (the median is judged)
    conns: tuple[int, ...] = (100, 1000)
    order_conns: int = 100
    order_tokens: int = 50
    accounts: int = 200
    users: int = 1000
    spawn_rate: float = 50
    users_seconds: int = 120
    scaling: WrkMethod = field(default_factory=lambda: WrkMethod("15s", "5s", 5))
    max_minutes: float = 35  # ~12 min, plus up to 9 × --settle-wait when the shop's mail lags

    @classmethod
    def full(cls) -> Plan:
        return cls(quick=False, wrk=WrkMethod(duration="10s", warmup="3s", pause=2))

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(
            quick=True,
            wrk=WrkMethod(duration="5s", warmup="2s", pause=2),
            rounds=1,
            accounts=50,
            order_tokens=25,
            users=200,
            spawn_rate=50,
            users_seconds=30,
            scaling=WrkMethod(duration="5s", warmup="2s", pause=2),
            max_minutes=10,
        )


class Run:
    def __init__(self, plan: Plan, args: argparse.Namespace) -> None:
        self.plan = plan
        self.args = args
        self.reaper = system.Reaper()
        self.workdir = Path(args.workdir)
        self.out_md = Path(args.out)
        self.chart_dir = self.out_md.parent / "bench" if not plan.quick else self.out_md.parent
        self.raw_dir = self.chart_dir / "raw"
        self.run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.results: dict[str, Any] = {
            "catalogue": [],
            "order": [],
            "users": None,
            "scaling": [],
            "failures": [],
            "notes": [],
            "quiet": {},
        }
        self.commands: list[str] = []
        self.shop: Shop | None = None  # serve's default server; the others are its twins
        self.twins: list[Shop] = []
        self.peer: Peer | None = None
        self.tokens: list[str] = []
        self.products: list[dict[str, Any]] = []

    # --- helpers --------------------------------------------------------------------------

    def scenario(self, name: str, body: Callable[[], None]) -> None:
        if name not in self.args.only:
            return
        started = time.monotonic()
        log(f"=== scenario {name} ===")
        try:
            if self.args.quiet_wait > 0:
                quiet = system.wait_quiet(self.args.quiet_wait)
                self.results["quiet"][name] = quiet
                log(
                    f"machine {report.fmt_pct(quiet['busy'])} busy after waiting "
                    f"{quiet['waited_s']:.0f} s for it to be quiet (< 25 %)"
                )
            body()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            traceback.print_exc()
            self.results["failures"].append(f"scenario **{name}** failed: {exc}".splitlines()[0])
        log(f"=== {name} done in {time.monotonic() - started:.0f} s ===")

    def shop_or_fail(self) -> Shop:
        if self.shop is None:
            raise RuntimeError("cloudmall is not running")
        return self.shop

    # --- setup ----------------------------------------------------------------------------

    def setup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        if self.raw_dir.exists():
            shutil.rmtree(self.raw_dir)
        self.raw_dir.mkdir(parents=True)
        nofile = system.raise_nofile()
        peer_dir = Path(self.args.peer)
        have_peer = (peer_dir / "start.sh").exists() and not self.args.no_peer
        log(f"ulimit -n {nofile}; measuring background load for 3 s")
        idle = system.idle_check(3)
        self.results["meta"] = {
            "quick": self.plan.quick,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": system.machine(),
            "idle_check": idle,
            "load_before": system.load_average(),
            "git": system.git_state(REPO),
            "command": self.args.command
            or ("make bench-quick" if self.plan.quick else "make bench"),
            "wrk": {
                "duration": self.plan.wrk.duration,
                "warmup": self.plan.wrk.warmup,
                "pause": self.plan.wrk.pause,
                "timeout": self.plan.wrk.timeout,
            },
            "commands": self.commands,
            "shop": {},
            "peer": {"description": "not run"},
        }
        self.shop = Shop(self.workdir / "shop", self.reaper, server=HTTP_SERVERS[0])
        env = self.shop.env
        self.commands += [
            "# cloudmall (cwd: a scratch folder; CLOUDMALL_SECRET_KEY and "
            "CLOUDMALL_TOKEN_SIGNING_KEY: random per run)",
            f'mariadb -uroot -e "DROP DATABASE IF EXISTS {services.BENCH_DB}; '
            f'CREATE DATABASE {services.BENCH_DB}"',
            "redis-cli --scan --pattern 'bench:*' | xargs redis-cli DEL",
            "export "
            + " ".join(
                f"{k}={shlex.quote(env[k])}"
                for k in (
                    "CLOUDMALL_DATABASE_URL",
                    "CLOUDMALL_CACHE_URL",
                    "CLOUDMALL_STORAGE_URL",
                    "CLOUDMALL_VAR_DIR",
                    "CLOUDMALL_TOKEN_TTL_SECONDS",
                    "CLOUDMALL_SIGNUPS_PER_CLIENT",
                )
            ),
            "cloudmall migrate",
            "cloudmall seed --products 100",
            f"cloudmall admin create {services.ADMIN_EMAIL} --password …",
            *(
                f"cloudmall serve --host 127.0.0.1 --port PORT --workers 2 --server {server} "
                "--no-demo"
                for server in HTTP_SERVERS
            ),
            f"# then, over HTTP as the admin: PATCH /api/products/ID "
            f'{{"stock_quantity": {services.INITIAL_STOCK}}} for each of the 100 products; '
            f"POST /api/auth/signup × {self.plan.accounts} customers (their tokens are used below)",
        ]
        if have_peer:
            self.peer = Peer(peer_dir, self.workdir / "peer", self.reaper)
            self.peer.start()
            self.commands += [
                "# Express peer (its own scripts, from a writable copy)",
                f"PORT={self.peer.port} PEER_WORKDIR={self.peer.workdir} "
                f"DB_NAME={services.PEER_DB} "
                f"REDIS_URL=redis://127.0.0.1:6379/{services.PEER_REDIS_DB} "
                f"bash {peer_dir}/start.sh",
                f"redis-cli -n {services.PEER_REDIS_DB} DEL products; "
                f"curl -s -o /dev/null {self.peer.url}/api/products   # before each GET run",
            ]
            peer_list = services.http("GET", f"{self.peer.url}/api/products")
            self.results["meta"]["peer"] = {
                "description": f"the guide's Express app from `{peer_dir}` (its start.sh/stop.sh), "
                f"database `{services.PEER_DB}`, Redis db {services.PEER_REDIS_DB}",
                "list_bytes": len(peer_list.body),
            }
        else:
            self.results["notes"].append(f"the Express peer was not run ({peer_dir}/start.sh)")
        shop = self.shop
        shop.prepare(products=100)
        shop.start(workers=2)
        self.twins = [shop.twin(server) for server in HTTP_SERVERS if server != shop.server]
        for twin in self.twins:
            twin.start(workers=2)
        count = shop.set_stock(services.INITIAL_STOCK)
        self.products = shop.products()
        if count != 100 or len(self.products) != 100:
            raise RuntimeError(f"expected exactly 100 products, found {count}")
        stock = services.mariadb(
            "SELECT COUNT(*), MIN(stock_quantity), MAX(stock_quantity) FROM products",
            services.BENCH_DB,
        )[0]
        log(f"stock set: {stock[0]} products at {stock[1]}..{stock[2]}")
        log(f"signing up {self.plan.accounts} customers through the API")
        started = time.monotonic()
        self.tokens = shop.create_users(self.plan.accounts, run_id=self.run_id)
        signup_s = time.monotonic() - started
        log(f"{len(self.tokens)} customers in {signup_s:.1f} s")
        listed = services.http("GET", f"{shop.url}/api/products")
        self.results["meta"]["shop"] = {
            "description": f"cloudmall `serve --workers 2`, once per HTTP server "
            f"({', '.join(HTTP_SERVERS)}: two processes of the same shop, each measured while "
            f"the other idles), on MariaDB (`{services.BENCH_DB}`, "
            f"fresh each run), Redis (`{services.BENCH_CACHE_URL}`), media in a local folder; "
            f"100 products from `cloudmall seed`, stock {services.INITIAL_STOCK:,} each; "
            f"{self.plan.accounts} customers signed up through the API "
            f"({signup_s:.0f} s, Argon2-bound)",
            "list_bytes": len(listed.body),
            "list_items": len(json.loads(listed.body)),
        }

    # --- scenarios ------------------------------------------------------------------------

    def _row(self, server: str, variant: str, label: str, measured: dict[str, Any]) -> dict:
        self.note_command(measured)
        return {"server": server, "variant": variant, "label": label, **measured}

    def note_command(self, measured: dict[str, Any]) -> None:
        self.commands.append(report.display_command(measured["command"], str(REPO)))

    def servers(self) -> list[Shop]:
        return [self.shop_or_fail(), *self.twins]

    @staticmethod
    def rotated(entries: list[T], round_index: int) -> list[T]:
        """`entries` in the order of this round: each goes first in turn."""
        shift = round_index % len(entries)
        return entries[shift:] + entries[:shift]

    def catalogue(self) -> None:
        w = self.plan.wrk
        self.commands.append(
            f"# catalogue, {self.plan.rounds} alternating round(s); each measured run below "
            f"follows a warm-up (the same command with -d{w.warmup}, no --latency) and a "
            f"{w.pause:g} s pause"
        )
        for conns in self.plan.conns:
            for round_index in range(self.plan.rounds):
                entries: list[Shop | Peer] = [*self.servers(), *([self.peer] if self.peer else [])]
                for entry in self.rotated(entries, round_index):
                    self._catalogue_run(entry, conns, round_index)
        # ETag revalidation: If-None-Match with the current ETag, 100 connections, one round
        for entry in [*self.servers(), *([self.peer] if self.peer else [])]:
            self._etag_run(entry)

    def _catalogue_run(self, entry: Shop | Peer, conns: int, round_index: int) -> None:
        name = entry.name if isinstance(entry, Shop) else "express"
        if isinstance(entry, Peer):
            entry.prime_cache()
            pids, rss = entry.pids, None
        else:
            services.expect(services.http("GET", f"{entry.url}/api/products"), 200, what="warm")
            pids, rss = entry.all_pids, entry.worker_pids
        row = loadgen.measure(
            self.plan.wrk, f"{entry.url}/api/products", conns, server_pids=pids, rss_pids=rss,
            raw_dir=self.raw_dir, name=f"catalogue-{name}-c{conns}-r{round_index + 1}",
        )  # fmt: skip
        row["round"] = round_index + 1
        self.results["catalogue"].append(self._row(name, "list", "list", row))

    def _etag_run(self, entry: Shop | Peer) -> None:
        name = entry.name if isinstance(entry, Shop) else "express"
        if isinstance(entry, Peer):
            entry.prime_cache()
        url = entry.url
        first = services.expect(services.http("GET", f"{url}/api/products"), 200, what="list")
        etag = first.headers.get("etag")
        if not etag:
            self.results["notes"].append(f"{name}: no ETag on GET /api/products")
            return
        again = services.http("GET", f"{url}/api/products", headers={"If-None-Match": etag})
        if again.status != 304:
            self.results["notes"].append(
                f"{name}: If-None-Match with the ETag answered {again.status}, not 304"
            )
        pids = entry.pids if isinstance(entry, Peer) else entry.all_pids
        row = loadgen.measure(
            self.plan.wrk, f"{url}/api/products", 100,
            lua=loadgen.LUA_DIR / "etag.lua", lua_args=lambda _tag, e=etag: [e],
            server_pids=pids, rss_pids=None if isinstance(entry, Peer) else entry.worker_pids,
            raw_dir=self.raw_dir, name=f"catalogue-etag-{name}-c100",
        )  # fmt: skip
        row["round"] = 1
        self.results["catalogue"].append(self._row(name, "etag", "ETag 304", row))

    def order(self) -> None:
        before = services.conservation()
        if before["orders"] or before["units_out"]:
            raise RuntimeError(f"the shop is not fresh before the order run: {before}")
        self.commands.append(
            f"# order, {self.plan.rounds} alternating round(s) "
            f"({self.plan.order_tokens} customers' tokens, one per line; the product ids)"
        )
        tokens_file = self.workdir / "order-tokens.txt"
        tokens_file.write_text("\n".join(self.tokens[: self.plan.order_tokens]) + "\n")
        ids = ",".join(str(p["id"]) for p in self.products)
        conns = self.plan.order_conns
        # Every row, the peer's too, waits for the shop's mail owed for the orders before it:
        # the twins share one database, so this is both servers' backlog.
        limit = self.args.settle_wait

        def settle() -> dict[str, Any]:
            return system.wait_settled(limit, services.outbox_backlog)

        for round_index in range(self.plan.rounds):
            entries: list[Shop | Peer] = [*self.servers(), *([self.peer] if self.peer else [])]
            for entry in self.rotated(entries, round_index):
                if isinstance(entry, Peer):
                    row = loadgen.measure(
                        self.plan.wrk, f"{entry.url}/api/orders", conns,
                        lua=entry.lua("post_order.lua"), server_pids=entry.pids,
                        raw_dir=self.raw_dir, name=f"order-express-c{conns}-r{round_index + 1}",
                        settle=settle,
                    )  # fmt: skip
                    row["round"] = round_index + 1
                    self.results["order"].append(
                        self._row("express", "order", "insert only (post_order.lua)", row)
                    )
                    continue
                tag = f"{self.run_id}-{entry.server}-r{round_index + 1}"
                row = loadgen.measure(
                    self.plan.wrk, f"{entry.url}/api/orders", conns,
                    lua=loadgen.LUA_DIR / "order.lua",
                    lua_args=lambda phase, t=tag: [str(tokens_file), ids, f"{t}-{phase}"],
                    server_pids=entry.all_pids, rss_pids=entry.worker_pids,
                    raw_dir=self.raw_dir, name=f"order-{entry.name}-c{conns}-r{round_index + 1}",
                    settle=settle,
                )  # fmt: skip
                cons = services.conservation(settle=20)
                row["conservation"] = cons
                row["round"] = round_index + 1
                log(f"conservation: {cons}")
                self.results["order"].append(
                    self._row(
                        entry.name, "order", f"real order ({self.plan.order_tokens} customers)", row
                    )
                )

    def users(self) -> None:
        shop = self.shop_or_fail()
        plan = self.plan
        words: list[str] = []
        for product in self.products:
            for word in re.split(r"\s+", product["name"]):
                if word and not word.startswith("#") and word not in words:
                    words.append(word)
        listed = json.loads(services.http("GET", f"{shop.url}/api/categories").body)
        categories = [category["slug"] for category in listed if category["products"]]
        data = {
            "tokens": self.tokens,
            "search_terms": words[:30],
            "categories": categories,
            "product_ids": [p["id"] for p in self.products],
        }
        data_file = self.workdir / "locust-data.json"
        data_file.write_text(json.dumps(data, ensure_ascii=False))
        csv_prefix = self.workdir / "locust"
        locust_bin = str(Path(sys.executable).with_name("locust"))
        cmd = loadgen.locust_command(
            shop.url, users=plan.users, spawn_rate=plan.spawn_rate, run_time=plan.users_seconds,
            csv_prefix=csv_prefix, processes=self.args.locust_processes, locust=locust_bin,
        )  # fmt: skip
        self.commands += [
            f"# {plan.users:,} users",
            "BENCH_LOCUST_DATA=locust-data.json " + shlex.join(cmd).replace(str(REPO) + "/", ""),
        ]
        metrics_before = shop.metrics()
        log(
            f"locust: {plan.users} users, spawn {plan.spawn_rate:g}/s, "
            f"{plan.users_seconds} s (stats reset once all are spawned)"
        )
        process = subprocess.Popen(
            cmd,
            env={**os.environ, "BENCH_LOCUST_DATA": str(data_file)},
            cwd=self.workdir,
            stdout=(self.workdir / "locust.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.reaper.add("locust", lambda: system.stop_group(process, grace=15))
        sampler = system.Sampler(
            {
                "server": shop.all_pids,
                "workers": shop.worker_pids,
                "locust": lambda: [p.pid for p in system.tree(process.pid)],
                "mariadb": lambda: system.find_pids("mariadbd"),
                "redis": lambda: system.find_pids("redis-server", ":6379"),
            },
            rss_of="workers",
        )
        with sampler:
            try:
                process.wait(timeout=plan.users_seconds + 120)
            except subprocess.TimeoutExpired:
                system.stop_group(process, grace=15)
                self.results["notes"].append("locust overran its run time and was stopped")
        self.reaper.remove("locust")
        metrics_after = shop.metrics()
        stats_path = Path(f"{csv_prefix}_stats.csv")
        if not stats_path.exists():
            tail = (self.workdir / "locust.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"locust wrote no statistics (exit {process.returncode}):\n{tail}")
        stats = report.parse_locust_stats(stats_path.read_text())
        failures_path = Path(f"{csv_prefix}_failures.csv")
        failures = (
            report.parse_locust_failures(failures_path.read_text())
            if failures_path.exists()
            else []
        )
        shares = sampler.group_share()
        cons = services.conservation(settle=20)
        self.results["users"] = {
            "users": plan.users,
            "spawn_rate": plan.spawn_rate,
            "seconds": plan.users_seconds,
            "description": (
                f"`locust --headless --users {plan.users} --spawn-rate {plan.spawn_rate:g} "
                f"--run-time {plan.users_seconds}s --reset-stats` (statistics from the moment all "
                f"users are spawned, {plan.users / plan.spawn_rate:.0f} s in), FastHttpUser, "
                f"{self.args.locust_processes} locust process(es); {plan.accounts} accounts shared "
                "round robin. Each shopper thinks 2–6 s between actions and does, by weight: "
                "browse 4 (the list; sometimes a category or another sort; thumbnails of the first "
                "4 products it has not seen), search 2 (`?q=` a word of a product name), view a "
                "product 4 (`/api/products/{id}`, then its thumbnail and picture once), check out "
                "1 (`POST /api/orders` with its client-side cart and an Idempotency-Key, then "
                "`POST /api/orders/{id}/pay` with card 4242 4242 4242 4242). Like a browser it "
                "revalidates catalogue answers with `If-None-Match` (304 counts as success) and "
                "fetches each immutable image once."
            ),
            "stats": stats,
            "failures_detail": failures,
            "cache": report.cache_delta(metrics_before, metrics_after),
            "cpu": {"mean": sampler.cpu_mean(), "peak": sampler.cpu_peak()},
            "sample_s": sampler.interval,
            "process_cpu": {
                "server": shares.get("server"),
                "locust": shares.get("locust"),
                "MariaDB": shares.get("mariadb"),
                "Redis": shares.get("redis"),
            },
            "worker_peak_rss_mb": sorted(sampler.rss_peak_mb.values(), reverse=True),
            "locust_exit": process.returncode,
            "conservation": cons,
            "command": shlex.join(cmd),
        }
        agg = next((r for r in stats if r["name"] == "Aggregated"), None)
        if agg:
            log(
                f"users: {agg['requests']:,} requests, {agg['failures']:,} failures, "
                f"{agg['rps'] or 0:,.0f} req/s, p50 {report.fmt_ms(agg['p50_ms'])}, "
                f"p95 {report.fmt_ms(agg['p95_ms'])}, p99 {report.fmt_ms(agg['p99_ms'])}; "
                f"cache hit {report.fmt_pct(self.results['users']['cache']['ratio'])}; "
                f"CPU mean {report.fmt_pct(sampler.cpu_mean())}"
            )

    def scaling(self) -> None:
        shop = self.shop_or_fail()
        self.commands.append(
            "# scaling: the server restarted with --workers 1, then --workers 2 "
            f"(runs of {self.plan.scaling.duration} after a {self.plan.scaling.warmup} warm-up)"
        )
        for twin in self.twins:  # idle, but out of the way
            twin.stop()
        for workers in (1, 2):
            shop.stop()
            shop.start(workers=workers)
            services.expect(services.http("GET", f"{shop.url}/api/products"), 200, what="warm")
            row = loadgen.measure(
                self.plan.scaling, f"{shop.url}/api/products", 100,
                server_pids=shop.all_pids, rss_pids=shop.worker_pids,
                raw_dir=self.raw_dir, name=f"scaling-w{workers}-c100",
            )  # fmt: skip
            row["workers"] = workers
            self.note_command(row)
            self.results["scaling"].append(row)

    # --- the whole run --------------------------------------------------------------------

    def execute(self) -> int:
        started = time.monotonic()
        self.reaper.install_signal_handlers()

        def overtime(_signum: int, _frame: object) -> None:
            raise KeyboardInterrupt(f"the run exceeded {self.plan.max_minutes:g} minutes")

        signal.signal(signal.SIGALRM, overtime)
        signal.alarm(int(self.plan.max_minutes * 60))
        interrupted = None
        set_up = False
        try:
            self.setup()
            set_up = True
            self.scenario("catalogue", self.catalogue)
            self.scenario("order", self.order)
            self.scenario("users", self.users)
            self.scenario("scaling", self.scaling)
        except KeyboardInterrupt as exc:
            interrupted = str(exc) or "Ctrl-C"
        except Exception as exc:
            traceback.print_exc()
            self.results["failures"].append(f"setup failed: {exc}".splitlines()[0])
        finally:
            signal.alarm(0)
            log("stopping everything the harness started")
            self.reaper.stop_all()
        if interrupted:
            log(f"interrupted ({interrupted}): no report written; raw output in {self.raw_dir}")
            return 130
        if not set_up:
            log("setup failed: no report written")
            return 1
        self.finish(time.monotonic() - started)
        return 1 if self.results["failures"] else 0

    def finish(self, elapsed: float) -> None:
        meta = self.results["meta"]
        meta["elapsed_s"] = elapsed
        meta["load_after"] = system.load_average()
        meta["versions"] = system.versions(self.peer.workdir if self.peer else None)
        results_file = self.chart_dir / "results.json"
        meta["results_file"] = os.path.relpath(results_file, REPO)
        meta["results_link"] = os.path.relpath(results_file, self.out_md.parent)
        peaks = [v for group in ("catalogue", "order", "scaling") for row in self.results[group]
                 for v in row.get("worker_peak_rss_mb", [])]  # fmt: skip
        if self.results["users"]:
            peaks += self.results["users"]["worker_peak_rss_mb"]
        self.results["peak_rss_mb"] = max(peaks) if peaks else None
        self.chart_dir.mkdir(parents=True, exist_ok=True)
        results_file.write_text(json.dumps(self.results, indent=1, ensure_ascii=False) + "\n")
        write_report(self.results, self.out_md, self.chart_dir)


def write_report(results: dict[str, Any], out_md: Path, chart_dir: Path) -> None:
    """Charts and Markdown from `results` (also used by --render-only)."""
    link_prefix = os.path.relpath(chart_dir, out_md.parent) + "/"
    made = charts.draw(results, chart_dir, link_prefix)
    extra = []
    notes = chart_dir / "notes.md"
    if notes.exists():  # hand-written findings, kept across runs
        extra.append(notes.read_text().strip())
    if (chart_dir / "profile.md").exists():
        extra.append(
            "Profiles (`make bench-profile`: py-spy flame graphs and top functions of a worker "
            f"under catalogue and order load): [{link_prefix}profile.md]({link_prefix}profile.md)."
        )
    out_md.write_text(report.render(results, made, extra))
    log(f"wrote {out_md} and {len(made)} charts in {chart_dir}")
    print()
    for verdict in report.judge(results):
        print(f"{verdict.mark:4}  {verdict.check}: {verdict.measured} (target {verdict.target})")
    for failure in results["failures"]:
        print(f"FAILED  {failure}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 200 users, ~3 min")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}"
    )
    parser.add_argument("--out", help="the Markdown report (charts go next to it)")
    parser.add_argument("--peer", default=str(DEFAULT_PEER), help="the seed-express folder")
    parser.add_argument("--no-peer", action="store_true", help="do not run the Express peer")
    parser.add_argument(
        "--workdir",
        default=str(Path(tempfile.gettempdir()) / "cloudmall-bench"),
        help="scratch folder (emptied at the start)",
    )
    parser.add_argument("--locust-processes", type=int, default=1)
    parser.add_argument("--command", help="how the report says it was made (a make target)")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: redraw the charts and the report from the last results.json "
        "(e.g. after editing docs/bench/notes.md)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each scenario, wait up to this many seconds for the machine to be < 25 %% "
        "busy (other tenants); default 30 (full), 5 (quick), 0 to skip",
    )
    parser.add_argument(
        "--settle-wait",
        type=float,
        help="before each measured order run (every server and the peer), wait up to this many "
        "seconds for the machine to be < 25 %% busy and the shop's mail reader to have "
        "finished every event of the runs before; default 60 (full), 15 (quick)",
    )
    args = parser.parse_args(argv)
    if args.quiet_wait is None:
        args.quiet_wait = 5.0 if args.quick else 30.0
    if args.settle_wait is None:
        args.settle_wait = 15.0 if args.quick else 60.0
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not args.out:
        args.out = str(
            REPO / ("var/bench-quick/benchmarks.md" if args.quick else "docs/benchmarks.md")
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "mariadb", "redis-cli"):
        if not shutil.which(tool):
            print(f"bench: `{tool}` is required (apt-get install wrk mariadb-client redis-tools)")
            return 2
    plan = Plan.quick_plan() if args.quick else Plan.full()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    run = Run(plan, args)
    if args.render_only:
        results = json.loads((run.chart_dir / "results.json").read_text())
        write_report(results, run.out_md, run.chart_dir)
        return 0
    return run.execute()


if __name__ == "__main__":
    sys.exit(main())
