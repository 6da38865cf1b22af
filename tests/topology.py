"""The services topology under test: users, products, orders and payments as four real
`cloudmall serve --service` processes, each on its own database, behind nginx with the config
`cloudmall gateway config` writes (docs/microservices.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from cloudmall.cli.gateway import render
from cloudmall.cli.service_processes import serve_command, service_environments
from cloudmall.config import ServiceName
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    STARTED,
    LiveServer,
    Service,
    cli,
    free_port,
    scratch_database,
    start_redis,
    stop_server,
    wait_for_port,
)

#: The services' shared secret for their internal routes.
INTERNAL_SECRET = "an-internal-secret-for-the-topology-tests"


@dataclass
class Topology:
    services: dict[ServiceName, LiveServer]
    gateway: LiveServer  # nginx, shaped like a server for the HTTP helpers
    tmp_path: Path

    def restart(self, service: ServiceName) -> None:
        stop_server(self.services[service])
        self.start(service)

    def kill(self, service: ServiceName) -> None:
        """SIGKILL: no request finished, no batch handed back."""
        process = self.services[service].process
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def start(self, service: ServiceName) -> None:
        """Start the service again (stopped or killed), on its port and database."""
        old = self.services[service]
        self.services[service] = start_service(service, old.env, self.tmp_path, old.url)
        self.gateway.services[service.value] = self.services[service]

    def database(self, service: ServiceName) -> str:
        return self.services[service].env["CLOUDMALL_DATABASE_URL"]


@contextlib.contextmanager
def service_databases(backend: str, tmp_path: Path) -> Iterator[dict[ServiceName, str]]:
    """One new database per service on `backend` (SQLite files, or databases on the server),
    dropped afterwards."""
    with contextlib.ExitStack() as stack:
        yield {
            service: stack.enter_context(scratch_database(backend, tmp_path, service.value))
            for service in ServiceName
        }


@contextlib.contextmanager
def running_topology(
    databases: dict[ServiceName, str], base: dict[str, str], tmp_path: Path
) -> Iterator[Topology]:
    """The four services on `databases`, a private Redis as their broker (the saga's events
    between them) and the gateway, the staff account made (in the users service's database);
    all stopped afterwards."""
    redis = start_redis()
    broker = {
        "CLOUDMALL_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
        "CLOUDMALL_BROKER_POLL_SECONDS": "0.2",
        # A member SIGKILLed while holding messages: another takes them over this soon.
        "CLOUDMALL_BROKER_VISIBILITY_SECONDS": "3",
    }
    urls = {service: f"http://127.0.0.1:{free_port()}" for service in ServiceName}
    envs = service_environments(
        base={**os.environ, **base, **broker},
        databases=databases,
        urls=urls,
        var_dir=tmp_path,
        secret=INTERNAL_SECRET,
    )
    made = cli(
        envs[ServiceName.USERS],
        tmp_path,
        "admin",
        "create",
        ADMIN_EMAIL,
        "--password",
        ADMIN_PASSWORD,
    )
    if made.returncode != 0:
        redis.stop()
        raise RuntimeError(f"cannot create the admin account: {made.stderr}")
    services: dict[ServiceName, LiveServer] = {}
    gateway = None
    try:
        for service in ServiceName:
            services[service] = start_service(service, envs[service], tmp_path, urls[service])
        gateway_url, gateway = start_gateway(services, tmp_path)
        users = services[ServiceName.USERS]
        yield Topology(
            services,
            LiveServer(
                gateway_url,
                gateway.process,
                users.log_path,
                users.env,
                runtime="services",
                services={name.value: server for name, server in services.items()},
            ),
            tmp_path,
        )
    finally:
        if gateway is not None:
            gateway.stop()
        for server in services.values():
            stop_server(server)
        redis.stop()


@contextlib.contextmanager
def run_topology(tmp_path: Path, **extra_env: str) -> Iterator[Topology]:
    """The topology on SQLite files in `tmp_path`, with `extra_env` in every service's
    environment."""
    from tests.conftest import shop_env

    with (
        service_databases("sqlite", tmp_path) as databases,
        running_topology(databases, shop_env("", tmp_path, **extra_env), tmp_path) as topology,
    ):
        yield topology


def start_service(
    service: ServiceName, env: dict[str, str], tmp_path: Path, url: str
) -> LiveServer:
    """`cloudmall serve --service SERVICE` on `url`'s port; returns when /readyz answers 200."""
    port = int(url.rsplit(":", 1)[1])
    log_path = tmp_path / f"{service.value}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            serve_command(service, port, demo=False),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    server = LiveServer(url=url, process=process, log_path=log_path, env=env)
    STARTED.append(server)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {service} service exited early:\n{server.log()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return server
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the {service} service was not ready in 60 s:\n{server.log()}")


def start_gateway(services: dict[ServiceName, LiveServer], tmp_path: Path) -> tuple[str, Service]:
    """nginx with `cloudmall gateway config`'s render, in front of `services`."""
    port = free_port()
    prefix = tmp_path / f"gateway-{port}"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    upstreams = {name: server.url.removeprefix("http://") for name, server in services.items()}
    conf.write_text(render(upstreams, listen=f"127.0.0.1:{port}", prefix=prefix))
    # Run as root (CI), nginx's workers would be `nobody`, who cannot write a large upload's
    # body into the test's private folder; as anyone else the `user` line is ignored.
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off; user root;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return f"http://127.0.0.1:{port}", Service(port, process)
