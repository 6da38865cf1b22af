"""The servers under test: cloudmall (its CLI, as a subprocess) and the Express peer (its scripts).

Only HTTP on 127.0.0.1, the `cloudmall` command line, the peer's start.sh/stop.sh, and the
`mariadb`/`redis-cli` clients; nothing is imported from cloudmall.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import report
from bench.system import Reaper, stop_group
from cloudmall.adapters.security.signing_keys import generate_private_pem

BENCH_DB = "cloudmall_bench"
BENCH_CACHE_URL = "redis://127.0.0.1:6379/0?prefix=bench:"
PEER_DB = "shopping_mall_bench"
PEER_REDIS_DB = 1  # the peer's hard-coded `products` key, kept apart from anyone else's
INITIAL_STOCK = 1_000_000  # the API's maximum stock_quantity
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password-0123456789"  # noqa: S105 - a local throwaway account
USER_PASSWORD = "bench-user-password-0123456789"  # noqa: S105 - a local throwaway account


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- HTTP (standard library only) -----------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    report.require_loopback(url)
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def expect(answer: Answer, *statuses: int, what: str) -> Answer:
    if answer.status not in statuses:
        raise RuntimeError(f"{what}: HTTP {answer.status}: {answer.body[:300]!r}")
    return answer


def wait_ready(url: str, process: subprocess.Popen[Any] | None, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early (code {process.returncode})")
        with contextlib.suppress(OSError):
            if http("GET", url, timeout=2).status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready in {timeout:g} s")


# --- MariaDB / Redis (their command-line clients) --------------------------------------------


def mariadb(sql: str, database: str | None = None, *, timeout: float = 60) -> list[list[str]]:
    cmd = ["mariadb", "-uroot", "-N", "-B", *([database] if database else []), "-e", sql]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mariadb: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines()]


def redis_cli(*args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def clear_redis_prefix(prefix: str, db: int = 0) -> int:
    keys = redis_cli("-n", str(db), "--scan", "--pattern", f"{prefix}*").split()
    for start in range(0, len(keys), 500):
        redis_cli("-n", str(db), "DEL", *keys[start : start + 500])
    return len(keys)


def conservation(database: str = BENCH_DB, *, settle: float = 0) -> dict[str, Any]:
    """Stock conservation: Σ(initial − current stock) = Σ quantities of non-cancelled orders.
    With `settle`, read again for up to that many seconds while it does not hold: orders wrk
    gave up on may still be in flight, their units reserved and their order not yet written."""
    deadline = time.monotonic() + settle
    while True:
        ledger = _ledger(database)
        if ledger["holds"] or time.monotonic() >= deadline:
            return ledger
        time.sleep(0.5)


def outbox_backlog(database: str = BENCH_DB) -> int:
    """Events in the shop's outbox that the mail reader (which every `cloudmall serve` process
    runs) has not finished yet: the order confirmations still owed."""
    row = mariadb(
        "SELECT COUNT(*) FROM outbox_events e WHERE NOT EXISTS (SELECT 1 FROM outbox_claims c"
        " WHERE c.outbox_id = e.id AND c.consumer = 'mail' AND c.finished)",
        database,
    )[0]
    return int(row[0])


def _ledger(database: str) -> dict[str, Any]:
    row = mariadb(
        f"SELECT (SELECT COUNT(*) FROM products),"  # noqa: S608 - constants only
        f" (SELECT COALESCE(SUM({INITIAL_STOCK} - stock_quantity), 0) FROM products),"
        " (SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o"
        "   ON o.id = l.order_id WHERE o.status <> 'cancelled'),"
        " (SELECT COUNT(*) FROM orders),"
        " (SELECT COUNT(*) FROM orders WHERE status = 'cancelled'),"
        " (SELECT COUNT(*) FROM products WHERE stock_quantity < 0)",
        database,
    )[0]
    products, out, ordered, orders, cancelled, negative = (int(x) for x in row)
    return {
        "products": products,
        "units_out": out,
        "units_ordered": ordered,
        "orders": orders,
        "cancelled": cancelled,
        "negative_stock": negative,
        "holds": out == ordered and negative == 0,
    }


# --- cloudmall ------------------------------------------------------------------------------


@dataclass
class Shop:
    """cloudmall on MariaDB + Redis + a local media folder, run with its own CLI."""

    workdir: Path
    reaper: Reaper
    cli: Path = field(default_factory=lambda: Path(sys.executable).with_name("cloudmall"))
    port: int = 0
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    admin_token: str = ""
    server: str = "uvicorn"  # `cloudmall serve --server`
    label: str = ""  # the row label, when several set-ups of one server run side by side

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __post_init__(self) -> None:
        if not self.cli.exists():
            found = shutil.which("cloudmall")
            if not found:
                raise RuntimeError("the `cloudmall` command is not installed in this environment")
            self.cli = Path(found)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.env:  # a twin: the same shop's settings
            return
        self.env = {
            **os.environ,
            "CLOUDMALL_DATABASE_URL": f"mysql://root@127.0.0.1:3306/{BENCH_DB}",
            "CLOUDMALL_CACHE_URL": BENCH_CACHE_URL,
            "CLOUDMALL_STORAGE_URL": f"file://{(self.workdir / 'media').resolve()}",
            "CLOUDMALL_VAR_DIR": str((self.workdir / "var").resolve()),
            "CLOUDMALL_SECRET_KEY": secrets.token_hex(32),
            # Set here, not left to each var folder's own key: a twin must accept the tokens
            # this shop signs.
            "CLOUDMALL_TOKEN_SIGNING_KEY": generate_private_pem(),
            "CLOUDMALL_TOKEN_TTL_SECONDS": "14400",  # outlives the whole run
            # Every bench customer signs up from 127.0.0.1: lift the per-client sign-up limit.
            "CLOUDMALL_SIGNUPS_PER_CLIENT": "1000000",
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def name(self) -> str:
        """The row label: cloudmall and its HTTP server (or the set-up's own label)."""
        return self.label or f"cloudmall-{self.server}"

    def twin(self, server: str) -> Shop:
        """Another `cloudmall serve` of the same shop (database, cache, key) on `server`, with a
        var folder of its own: `serve` empties its metrics folder on start."""
        var = (self.workdir / f"var-{server}").resolve()
        env = {**self.env, "CLOUDMALL_VAR_DIR": str(var)}
        return Shop(self.workdir, self.reaper, cli=self.cli, env=env, server=server)

    def command(self, *args: str) -> list[str]:
        return [str(self.cli), *args]

    def run_cli(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            self.command(*args),
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cloudmall {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def prepare(self, products: int = 100) -> None:
        """A fresh `cloudmall_bench` database with `products` demo products and a staff account."""
        log(f"fresh database {BENCH_DB}, Redis keys under 'bench:' cleared")
        mariadb(f"DROP DATABASE IF EXISTS {BENCH_DB}; CREATE DATABASE {BENCH_DB}")
        clear_redis_prefix("bench:")
        shutil.rmtree(self.workdir / "media", ignore_errors=True)
        self.run_cli("migrate")
        log(f"cloudmall seed --products {products}")
        self.run_cli("seed", "--products", str(products))
        self.run_cli("admin", "create", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)

    def start(self, workers: int) -> None:
        self.workers = workers
        self.port = free_port()
        log_path = self.workdir / f"serve-{self.port}.log"
        cmd = self.command(
            "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            "--server", self.server, "--no-demo",
        )  # fmt: skip
        with log_path.open("wb") as out:
            self.process = subprocess.Popen(
                cmd, env=self.env, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        process = self.process
        self.reaper.add(self.name, lambda: stop_group(process))
        try:
            wait_ready(f"{self.url}/readyz", self.process)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; log {log_path}:\n{log_path.read_text()[-3000:]}") from exc
        # all workers up: each answers /livez (they share the port, so just wait for the count)
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.2)
        log(
            f"cloudmall serve --workers {workers} --server {self.server} on {self.url} "
            f"(pids {self.worker_pids()})"
        )
        login = expect(
            http("POST", f"{self.url}/api/auth/login",
                 body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
            200, what="admin login",
        )  # fmt: skip
        self.admin_token = login.json()["access_token"]

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.reaper.remove(self.name)
            self.process = None

    def worker_pids(self) -> list[int]:
        """The worker processes (the server itself when it runs one worker)."""
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            children = root.children()
        except psutil.Error:
            return []
        workers = []
        for child in children:
            with contextlib.suppress(psutil.Error):
                if "multiprocessing.spawn" in " ".join(child.cmdline()):
                    workers.append(child.pid)
        return workers or [root.pid]

    def all_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root.pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.Error:
            return []

    def metrics(self) -> str:
        return expect(http("GET", f"{self.url}/metrics"), 200, what="/metrics").body.decode()

    def products(self) -> list[dict[str, Any]]:
        return expect(http("GET", f"{self.url}/api/products"), 200, what="product list").json()

    def set_stock(self, quantity: int = INITIAL_STOCK) -> int:
        """PATCH every product's stock through the staff API (which also invalidates the cache)."""
        ids = [p["id"] for p in self.products()]

        def patch(product_id: int) -> None:
            expect(
                http("PATCH", f"{self.url}/api/products/{product_id}",
                     body={"stock_quantity": quantity}, token=self.admin_token),
                200, what=f"PATCH product {product_id}",
            )  # fmt: skip

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(patch, ids))
        return len(ids)

    def create_users(self, count: int, *, run_id: str) -> list[str]:
        """Sign up `count` customers through the API (Argon2-bound); returns their tokens."""

        def sign_up(i: int) -> str:
            email = f"bench-{run_id}-{i:04d}@example.com"
            answer = http(
                "POST", f"{self.url}/api/auth/signup",
                body={"email": email, "password": USER_PASSWORD, "name": f"Bench user {i}",
                      "consent": {"privacy": True, "terms": True}},
                timeout=60,
            )  # fmt: skip
            return str(expect(answer, 201, what=f"sign-up {email}").json()["access_token"])

        with ThreadPoolExecutor(max(2, 2 * self.workers)) as pool:
            return list(pool.map(sign_up, range(count)))


# --- the Express peer -----------------------------------------------------------------------


@dataclass
class Peer:
    """The guide's Express app, through its own start.sh / stop.sh (run from a copy in /tmp)."""

    source: Path
    workdir: Path
    reaper: Reaper
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "PEER_WORKDIR": str(self.workdir),
            "DB_NAME": PEER_DB,
            "REDIS_URL": f"redis://127.0.0.1:6379/{PEER_REDIS_DB}",
            "APP_LOG": str(self.workdir / "app.log"),
        }

    def start(self) -> None:
        self.port = free_port()
        self._stop_script()  # a leftover from an interrupted run
        self.reaper.add("express peer", self.stop)
        done = subprocess.run(
            ["bash", str(self.source / "start.sh")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"peer start.sh failed:\n{done.stdout}{done.stderr}")
        log(f"Express peer on {self.url} (pid {self.pid()})")

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.workdir / ".app.pid").read_text().strip())
        return None

    def pids(self) -> list[int]:
        pid = self.pid()
        return [pid] if pid and psutil.pid_exists(pid) else []

    def _stop_script(self) -> None:
        script = self.workdir / "stop.sh"
        if script.exists():
            subprocess.run(
                ["bash", str(script)], env=self.env, capture_output=True, timeout=30, check=False
            )

    def stop(self) -> None:
        self._stop_script()
        self.reaper.remove("express peer")

    def prime_cache(self) -> None:
        """As in BASELINE.md: drop the cached list, then one request sets a fresh 300 s TTL."""
        redis_cli("-n", str(PEER_REDIS_DB), "DEL", "products")
        expect(http("GET", f"{self.url}/api/products"), 200, what="peer product list")

    def lua(self, name: str) -> Path:
        return self.workdir / name
