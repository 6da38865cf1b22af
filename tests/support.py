"""Shared test helpers: free ports, scratch databases on each backend, a real server process."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The server URLs of the real databases; CI starts them (see .ci/run). Override to point elsewhere.
MARIADB_URL = os.environ.get(
    "CLOUDMALL_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
POSTGRES_URL = os.environ.get(
    "CLOUDMALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Which backends the integration and e2e suites run on; all three unless narrowed on purpose.
BACKENDS = os.environ.get("CLOUDMALL_TEST_BACKENDS", "sqlite,mariadb,postgresql").split(",")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def scratch_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database on `backend`, dropped afterwards; yields its cloudmall URL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    name = f"cm_{secrets.token_hex(6)}"
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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


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


def start_server(env: dict[str, str], tmp_path: Path, *, workers: int = 1) -> LiveServer:
    """`cloudmall serve` as a real process on a free port; returns when /readyz answers 200."""
    made = cli(env, tmp_path, "admin", "create", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    if made.returncode != 0:
        raise RuntimeError(f"cannot create the admin account: {made.stderr}")
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
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
                *([] if env.get("CLOUDMALL_TEST_DEMO") else ["--no-demo"]),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=tmp_path,
        )
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, env=full_env
    )
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
