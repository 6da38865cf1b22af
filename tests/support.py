"""Shared test helpers: free ports, scratch databases on each backend, a real server process."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]

# The server URLs of the real databases; CI starts them (see .ci/run). Override to point elsewhere.
MARIADB_URL = os.environ.get(
    "CLOUDMALL_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
POSTGRES_URL = os.environ.get(
    "CLOUDMALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Which backends the integration and e2e suites run on; all three unless narrowed on purpose.
BACKENDS = os.environ.get("CLOUDMALL_TEST_BACKENDS", "sqlite,mariadb,postgresql").split(",")

#: A delivery address as the API takes it, for the orders tests pay for (paying needs one).
ADDRESS = {
    "recipient": "김민지",
    "phone": "010-1234-5678",
    "postalCode": "06236",
    "address1": "서울 강남구 테헤란로 152",
    "address2": "12층",
}
SHIPMENT = {"carrier": "cj", "trackingNumber": "6012-3456-7890"}


def card(number: str = "4242 4242 4242 4242") -> dict[str, str]:
    """A pay body: the card number, with an expiry years ahead and a CVC."""
    return {"cardNumber": number, "expiry": "12/49", "cvc": "123"}


REDIS_URL = os.environ.get("CLOUDMALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fixed local credentials, not a secret
    "AWS_DEFAULT_REGION": "ap-northeast-2",
}


def redis_url() -> str:
    """The shared test Redis, with a key prefix of this test's own."""
    return f"{REDIS_URL}?prefix=test-{secrets.token_hex(4)}:"


def wait_for_port(port: int, *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:g} s")


@dataclass
class Service:
    """A helper server the tests run themselves (moto's S3, a private Redis)."""

    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_moto(*, serial: bool = False) -> Service:
    """moto's server on 127.0.0.1, the local stand-in for S3; `serial` answers one request at a
    time, the local DynamoDB (tests/moto_serial.py says why)."""
    port = free_port()
    command = ["-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    if serial:
        command = ["-m", "tests.moto_serial", str(port)]
    process = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **S3_ENV},
    )
    wait_for_port(port)
    return Service(port, process)


def new_bucket(moto: Service) -> str:
    """A fresh bucket on the moto server; returns the cloudmall storage URL for it."""
    import boto3

    name = f"cm-{secrets.token_hex(5)}"
    endpoint = f"http://127.0.0.1:{moto.port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    return f"s3://{name}?region=ap-northeast-2&endpoint_url={endpoint}"


def new_table_url(dynamodb: Service) -> str:
    """The cloudmall database URL of a new table name on the local DynamoDB (made on migrate)."""
    endpoint = f"http://127.0.0.1:{dynamodb.port}"
    region = S3_ENV["AWS_DEFAULT_REGION"]
    # moto copies the whole table for each transaction: a slow machine needs more than 10 s.
    return (
        f"dynamodb://cm-{secrets.token_hex(5)}?region={region}&endpoint_url={endpoint}"
        "&read_timeout=120"
    )


def start_redis(port: int | None = None, *options: str) -> Service:
    """A private redis-server (so a test may stop and restart it), with `options` (e.g.
    "--maxmemory", "4mb")."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return Service(port, process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def scratch_database(backend: str, tmp_path: Path, label: str = "shop") -> Iterator[str]:
    """A new, empty database on `backend`, dropped afterwards; yields its cloudmall URL.
    `label` tells several apart (a file's name on SQLite, a name's end on a server)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{label}.db'}"
        return
    name = f"cm_{secrets.token_hex(6)}" + ("" if label == "shop" else f"_{label}")
    admin_url = MARIADB_URL if backend == "mariadb" else POSTGRES_URL
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # a missing service is a failure, never a skip
        engine.dispose()
        raise RuntimeError(f"{backend} is required for this test but unreachable: {exc}") from exc
    url = make_url(admin_url).set(database=name)
    driver = "mysql" if backend == "mariadb" else "postgresql"
    try:
        yield url.set(drivername=driver).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()


ADMIN_EMAIL = "staff@cloudmall.test"
ADMIN_PASSWORD = "correct-horse-battery-staple"


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    runtime: str = "server"
    #: Behind a services topology's gateway: each service's own process (by service name).
    services: dict[str, LiveServer] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def part(self, service: str) -> LiveServer:
        """The process answering `service`'s routes: this one, or that service's behind the
        gateway."""
        return self.services.get(service, self)

    def database_url(self, service: str) -> str:
        """The database `service`'s tables are in (the monolith's one database, or its own)."""
        return self.part(service).env["CLOUDMALL_DATABASE_URL"]


def cli(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `cloudmall ARGS` with the shop's settings; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "cloudmall", *args],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# Every server a test starts, so that none outlives the session even if its test failed early.
STARTED: list[LiveServer] = []


#: How the API runs under test: `server` (uvicorn, the app) or `function` (the local API Gateway
#: invoking the Lambda handler in-process, one event at a time per worker).
RUNTIMES = ("server", "function")
#: `cloudmall serve --server` choices: the process tests run on each.
HTTP_SERVERS = ("uvicorn", "granian")


def start_server(
    env: dict[str, str],
    tmp_path: Path,
    *,
    workers: int = 1,
    port: int | None = None,
    runtime: str = "server",
    server: str | None = None,
) -> LiveServer:
    """`cloudmall serve` as a real process (on a free port unless `port` is given; on `server`,
    else serve's default HTTP server); returns when /readyz answers 200."""
    made = cli(env, tmp_path, "admin", "create", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    if made.returncode != 0:
        raise RuntimeError(f"cannot create the admin account: {made.stderr}")
    port = port or free_port()
    log_path = tmp_path / f"server-{port}-{time.monotonic_ns()}.log"
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloudmall",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--runtime",
                runtime,
                *(["--server", server] if server else []),
                *([] if env.get("CLOUDMALL_TEST_DEMO") else ["--no-demo"]),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=tmp_path,
        )
    server = LiveServer(
        url=f"http://127.0.0.1:{port}",
        process=process,
        log_path=log_path,
        env=full_env,
        runtime=runtime,
    )
    STARTED.append(server)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"server not ready in 60 s:\n{server.log()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


NGINX_CONF = """
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size 10m;
    upstream shop {{
        {servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://shop;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


def start_nginx(upstreams: list[str], tmp_path: Path) -> tuple[str, Service]:
    """nginx (standing in for the ALB) balancing over the given server URLs."""
    port = free_port()
    prefix = tmp_path / f"nginx-{port}"
    prefix.mkdir()
    servers = "\n        ".join(f"server {url.removeprefix('http://')};" for url in upstreams)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, servers=servers, port=port))
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return f"http://127.0.0.1:{port}", Service(port, process)


def emf_total(log: str, metric: str) -> float:
    """The sum of `metric` over the CloudWatch embedded-metric-format lines in a process's log."""
    total = 0.0
    for line in log.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        value = json.loads(line).get(metric)
        if value is not None:
            total += sum(value) if isinstance(value, list) else float(value)
    return total
