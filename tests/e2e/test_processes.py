"""Process behaviour: several workers, and graceful shutdown on SIGTERM, on either HTTP server."""

from __future__ import annotations

import asyncio
import secrets
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import shop_env
from tests.support import (
    HTTP_SERVERS,
    cli,
    free_port,
    scratch_database,
    start_server,
    stop_server,
)

on_each_server = pytest.mark.parametrize("server", HTTP_SERVERS)


def live_workers(parent_pid: int) -> set[int]:
    found = set()
    for child in psutil.Process(parent_pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:  # gone, or a zombie, between listing and looking
            continue
    return found


@on_each_server
def test_a_worker_that_dies_is_replaced(tmp_path: Path, server: str) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path, workers=2, server=server)
        try:
            first = live_workers(live.process.pid)
            assert len(first) == 2
            victim = min(first)
            psutil.Process(victim).kill()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                now = live_workers(live.process.pid)
                if len(now) == 2 and victim not in now:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the dead worker was not replaced")
            with httpx.Client(base_url=live.url) as http:
                assert all(http.get("/livez").status_code == 200 for _ in range(20))
        finally:
            stop_server(live)


@on_each_server
def test_workers_share_the_port_and_the_metrics(tmp_path: Path, server: str) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path, workers=2, server=server)
        try:
            with httpx.Client(base_url=live.url) as http:
                for _ in range(20):
                    assert http.get("/api/products").status_code == 200
                metrics = http.get("/metrics").text
            served = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("cloudmall_http_request_duration_seconds_count")
                and 'route="/api/products"' in line
            )
            assert served >= 20  # summed over both workers' files
            assert (tmp_path / "var" / "prometheus").is_dir()
        finally:
            stop_server(live)


JSON = {"content-type": "application/json"}


async def in_progress(http: httpx.AsyncClient) -> float:
    metrics = (await http.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("cloudmall_http_requests_in_progress")
    )


@on_each_server
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path, workers: int, server: str) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path, workers=workers, server=server)

        async def sign_ups_then_sigterm() -> list[int]:
            release = asyncio.Event()

            async def body_in_two_parts() -> AsyncIterator[bytes]:
                email = f"{secrets.token_hex(4)}@b.co"
                yield f'{{"email": "{email}", '.encode()
                await release.wait()  # the server is now mid-request, and told to stop
                yield b'"password": "a long passphrase", "name": "A", '
                yield b'"consent": {"privacy": true, "terms": true}}'

            limits = httpx.Limits(max_connections=12, max_keepalive_connections=12)
            async with httpx.AsyncClient(base_url=live.url, timeout=30, limits=limits) as http:
                pending = [
                    asyncio.create_task(
                        http.post("/api/auth/signup", content=body_in_two_parts(), headers=JSON)
                    )
                    for _ in range(12)
                ]
                async with httpx.AsyncClient(base_url=live.url, timeout=30) as watcher:
                    # Polling a gauge in another process: there is no event to wait on.
                    while await in_progress(watcher) < 12 + 1:  # noqa: ASYNC110 (+ /metrics itself)
                        await asyncio.sleep(0.01)
                live.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1)
                release.set()
                return [answer.status_code for answer in await asyncio.gather(*pending)]

        try:
            started = time.monotonic()
            statuses = asyncio.run(sign_ups_then_sigterm())
            code = live.process.wait(timeout=25)
            assert statuses == [201] * 12
            # uvicorn re-raises the signal once it has drained: the exit status may say SIGTERM.
            assert code in (0, -signal.SIGTERM) and time.monotonic() - started < 25
            assert "Traceback" not in live.log()
        finally:
            stop_server(live)


@on_each_server
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_restarts_on_the_same_port_at_once(tmp_path: Path, workers: int, server: str) -> None:
    """A supervisor's restart right after a stop: the stopped server's closed connections
    (TIME_WAIT on its port) must not make `serve` think the port is taken."""
    with scratch_database("sqlite", tmp_path) as url:
        env = shop_env(url, tmp_path)
        first = start_server(env, tmp_path, workers=workers, server=server)
        port = int(first.url.rsplit(":", 1)[1])
        try:
            for _ in range(20):  # the server closes each connection: TIME_WAIT on its side
                answer = httpx.get(f"{first.url}/livez", headers={"Connection": "close"})
                assert answer.status_code == 200
        finally:
            first.process.send_signal(signal.SIGTERM)
            assert first.process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises it
        waiting = [
            c
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_TIME_WAIT and c.laddr and c.laddr.port == port
        ]
        assert waiting, "no TIME_WAIT connection on the port: the test would prove nothing"
        second = start_server(env, tmp_path, workers=workers, port=port, server=server)
        try:
            assert httpx.get(f"{second.url}/api/products").status_code == 200
            assert "already in use" not in second.log()
        finally:
            stop_server(second)
        # And a port someone really listens on is still refused, with the message.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = cli(env, tmp_path, "serve", "--port", str(busy.getsockname()[1]), "--no-demo")
        assert taken.returncode == 1 and "already in use" in taken.stderr


@on_each_server
def test_proxy_headers_count_from_trusted_addresses_only(tmp_path: Path, server: str) -> None:
    """X-Forwarded-For names the client only when the connection comes from FORWARDED_ALLOW_IPS
    (127.0.0.1 by default); /metrics answers loopback clients only, so it shows whose it was."""
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    with scratch_database("sqlite", tmp_path) as url:
        trusted = start_server(shop_env(url, tmp_path), tmp_path, workers=2, server=server)
        try:
            assert httpx.get(f"{trusted.url}/metrics").status_code == 200
            assert httpx.get(f"{trusted.url}/metrics", headers=forwarded).status_code == 404
        finally:
            stop_server(trusted)
        env = shop_env(url, tmp_path, FORWARDED_ALLOW_IPS="192.0.2.1")  # a proxy elsewhere
        untrusted = start_server(env, tmp_path, workers=2, server=server)
        try:
            # The connection is not the trusted proxy's: its header is the client's own claim.
            assert httpx.get(f"{untrusted.url}/metrics", headers=forwarded).status_code == 200
        finally:
            stop_server(untrusted)


#: How long a stop or a restart may take in these tests: well inside GRACE_SECONDS (20 s) and the
#: deployments' stop timeouts (docs/deployment.md), and on a busy machine still met.
PROMPT_SECONDS = 8.0


def _keep_alive_connections(url: str, count: int) -> list[socket.socket]:
    """`count` connections that each got an answer and then stay open, idle (keep-alive)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    opened = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(f"GET /livez HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        opened.append(sock)
    return opened


@on_each_server
def test_sigterm_with_idle_keep_alive_connections_stops_promptly(
    tmp_path: Path, server: str
) -> None:
    """Idle keep-alive connections (a load balancer's, a browser's) hold no request: SIGTERM
    closes them and the server exits, instead of waiting for the clients to hang up."""
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path, workers=2, server=server)
        idle = _keep_alive_connections(live.url, 6)
        try:
            started = time.monotonic()
            live.process.send_signal(signal.SIGTERM)
            code = live.process.wait(timeout=30)
            took = time.monotonic() - started
            print(f"{server}: SIGTERM with 6 idle keep-alive connections: exit in {took:.2f} s")
            assert code in (0, -signal.SIGTERM) and took < PROMPT_SECONDS
        finally:
            for sock in idle:
                sock.close()
            stop_server(live)


@on_each_server
def test_connections_queued_on_a_killed_workers_socket_are_served_by_its_replacement(
    tmp_path: Path, server: str
) -> None:
    """The parent keeps a dead worker's socket: connections the kernel queued on it wait, and
    the replacement answers them (none is refused), promptly."""
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path, workers=2, server=server)
        host, port = live.url.removeprefix("http://").rsplit(":", 1)
        try:
            psutil.Process(min(live_workers(live.process.pid))).kill()
            started = time.monotonic()
            # New connections, each on a new source port: the kernel spreads them over both
            # sockets, so about half wait in the dead worker's queue.
            queued = []
            for _ in range(16):
                sock = socket.create_connection((host, int(port)), timeout=30)
                request = f"GET /livez HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                sock.sendall(request.encode())
                queued.append(sock)
            waits = []
            for sock in queued:
                with sock:
                    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
                    waits.append(time.monotonic() - started)
            print(f"{server}: longest wait on a killed worker's socket: {max(waits):.2f} s")
            assert max(waits) < PROMPT_SECONDS
            assert any(wait > 0.3 for wait in waits)  # some did wait: the test proves something
        finally:
            stop_server(live)


@on_each_server
def test_answers_name_no_server_software(tmp_path: Path, server: str) -> None:
    """uvicorn sends no Server header; granian always sends one, so it names the shop."""
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path, server=server)
        try:
            named = {httpx.get(f"{live.url}{path}").headers.get("server") for path in PATHS}
            assert named == ({None} if server == "uvicorn" else {"cloudmall"})
        finally:
            stop_server(live)


#: An answer of the app, one of a route that does not exist, and one of a bad request.
PATHS = ("/api/products", "/no-such-page", "/api/products?limit=-1")


@pytest.mark.parametrize("variable", ["GRANIAN_RUNTIME_THREADS", "GRANIAN_BACKPRESSURE"])
def test_a_bad_granian_tuning_variable_stops_serve_with_a_message(
    tmp_path: Path, variable: str
) -> None:
    """Checked before the shop starts: a message naming the variable and exit 1, no traceback
    and no workers crashing in a loop."""
    with scratch_database("sqlite", tmp_path) as url:
        env = {**shop_env(url, tmp_path), variable: "many"}
        port = str(free_port())
        refused = cli(env, tmp_path, "serve", "--server", "granian", "--no-demo", "--port", port)
    assert refused.returncode == 1
    assert f"{variable} must be a whole number of at least 1" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
