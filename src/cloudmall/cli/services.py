"""`cloudmall services run`: the services topology on one machine (`make run-services`).

Four `cloudmall serve --service NAME` processes on ports 8101-8104, each with its own database
(SQLite files under var/services/ by default, or one database each on the MariaDB/PostgreSQL
server CLOUDMALL_SERVICES_DATABASE names), a shared internal secret and an Ed25519 key pair made
for the run (the users service signs; the others only get its public key), the broker when Redis
answers, and nginx on one public port in front (`cloudmall gateway config`). Ctrl-C stops all.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Annotated
from urllib.parse import urlsplit

import typer

from cloudmall.bootstrap import ensure_database
from cloudmall.cli.gateway import render
from cloudmall.cli.runner import console, fail
from cloudmall.cli.service_processes import HOST, serve_command, service_environments
from cloudmall.config import ServiceName

services_app = typer.Typer(help="The shop as four services (docs/microservices.md).")

#: Each service's port, from the first.
PORT_OFFSETS = {
    ServiceName.USERS: 0,
    ServiceName.PRODUCTS: 1,
    ServiceName.ORDERS: 2,
    ServiceName.PAYMENTS: 3,
}
START_SECONDS = 120.0  # the products service draws its demo catalogue at the first start
STOP_SECONDS = 20.0
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


@dataclass
class Topology:
    """The processes of one run, stopped together."""

    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def exited(self) -> str | None:
        """The name of a process that has ended, if any."""
        return next((name for name, p in self.processes.items() if p.poll() is not None), None)


def _answers(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _broker_url() -> str | None:
    """CLOUDMALL_BROKER_URL if set (it must answer), else local Redis if it answers."""
    url = os.environ.get("CLOUDMALL_BROKER_URL", "")
    parts = urlsplit(url or DEFAULT_BROKER)
    answers = _answers(parts.hostname or "127.0.0.1", parts.port or 6379)
    if url and not answers:
        raise fail(
            f"the broker at {parts.hostname}:{parts.port or 6379} does not answer: start "
            "Redis, or unset CLOUDMALL_BROKER_URL"
        )
    return (url or DEFAULT_BROKER) if answers else None


async def _databases(server_url: str, prefix: str) -> dict[ServiceName, str]:
    return {
        service: await ensure_database(
            server_url, f"{prefix}_{service.value}", password=secrets.token_hex(24)
        )
        for service in ServiceName
    }


def database_urls(var_dir: Path) -> dict[ServiceName, str]:
    """Each service's database: one on CLOUDMALL_SERVICES_DATABASE's server, or a SQLite file."""
    server = os.environ.get("CLOUDMALL_SERVICES_DATABASE", "")
    if not server:
        folder = (var_dir / "services").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return {
            service: f"sqlite+aiosqlite:///{(folder / f'{service.value}.db').as_posix()}"
            for service in ServiceName
        }
    try:
        return asyncio.run(_databases(server, "cloudmall"))
    except (OSError, ValueError) as exc:
        raise fail(f"CLOUDMALL_SERVICES_DATABASE: {exc}") from None
    except Exception as exc:  # the driver's own errors: a server that refuses or is down
        raise fail(
            f"CLOUDMALL_SERVICES_DATABASE: cannot create the services' databases "
            f"(is the server running?): {str(exc).splitlines()[0]}"
        ) from None


def _wait_until_live(topology: Topology, name: str, port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if topology.exited():
            raise fail(
                f"the {topology.exited()} service stopped while starting (its output is above)"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise fail(f"the {name} service did not answer on port {port} within {START_SECONDS:.0f} s")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@services_app.command("run")
def run(
    port: Annotated[int, typer.Option(min=1, max=65535, help="the gateway's public port")] = 8000,
    first_port: Annotated[
        int, typer.Option(min=1, max=65532, help="the users service's port; the others follow")
    ] = 8101,
    var_dir: Annotated[Path, typer.Option(help="where the run keeps its files")] = Path("var"),
) -> None:
    """Run users, products, orders and payments as four services behind nginx; Ctrl-C stops
    everything."""
    nginx = shutil.which("nginx")
    if nginx is None:
        raise fail("nginx is not installed (apt-get install nginx, or brew install nginx)")
    ports = {service: first_port + offset for service, offset in PORT_OFFSETS.items()}
    for taken in [port, *ports.values()]:
        if _answers("127.0.0.1", taken):
            raise fail(f"port {taken} is already in use: choose others with --port/--first-port")
    public_url = f"http://127.0.0.1:{port}"
    environments = service_environments(
        base=dict(os.environ),
        databases=database_urls(var_dir),
        urls={service: f"http://{HOST}:{p}" for service, p in ports.items()},
        var_dir=var_dir,
        public_url=public_url,
        broker_url=_broker_url(),
    )
    gateway = (var_dir / "services" / "gateway").resolve()
    gateway.mkdir(parents=True, exist_ok=True)
    conf = gateway / "nginx.conf"
    conf.write_text(
        render(
            {service: f"127.0.0.1:{p}" for service, p in ports.items()},
            listen=f"127.0.0.1:{port}",
            prefix=gateway,
        )
    )
    topology = Topology()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by a supervisor: stop the others too
    try:
        for service in ServiceName:
            topology.processes[service.value] = subprocess.Popen(  # noqa: S603
                serve_command(service, ports[service]), env=environments[service]
            )
        for service in ServiceName:
            _wait_until_live(topology, service.value, ports[service])
        topology.processes["gateway"] = subprocess.Popen(  # noqa: S603
            [nginx, "-p", str(gateway), "-c", str(conf), "-g", "daemon off;"]
        )
        console.print(f"\n[bold green]cloudmall services[/] are running at [bold]{public_url}/[/]")
        for service in ServiceName:
            console.print(f"  {service.value:<9} http://127.0.0.1:{ports[service]}/")
        console.print("Ctrl-C stops them all")
        while (ended := topology.exited()) is None:
            time.sleep(0.5)
        raise fail(f"the {ended} process stopped; stopping the others")
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        topology.stop()
