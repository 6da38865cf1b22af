"""granian's worker on a socket we bound: its drain after SIGTERM ends within the grace time."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time

import httpx

#: A worker serving `slow_app` with a grace time of one second (the shop's is GRACE_SECONDS).
WORKER = """
import socket, sys
from cloudmall.web import granian_worker
sock = socket.socket(fileno=int(sys.argv[1]))
granian_worker.run("tests.integration.test_granian_worker:slow_app", sock, 128, 1.0)
"""


async def slow_app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """Answers /quick at once and /stuck after a minute: a request that outlives any drain."""
    if scope["type"] == "lifespan":
        while True:
            event = (await receive())["type"]  # type: ignore[operator]
            await send({"type": f"{event}.complete"})  # type: ignore[operator]
            if event == "lifespan.shutdown":
                return
    if scope["path"] == "/stuck":
        await asyncio.sleep(60)
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def test_a_request_stuck_past_the_grace_time_does_not_hold_the_worker() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(sock.fileno())],
            pass_fds=[sock.fileno()],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert httpx.get(f"{url}/quick", timeout=30).text == "ok"
            with socket.create_connection(sock.getsockname(), timeout=30) as stuck:
                stuck.sendall(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.5)  # the request is in flight
                started = time.monotonic()
                worker.send_signal(signal.SIGTERM)
                _, errors = worker.communicate(timeout=20)
                took = time.monotonic() - started
        finally:
            worker.kill()
    assert worker.returncode == 1 and 1.0 <= took < 10
    assert "still in flight 1.0 s after SIGTERM" in errors
