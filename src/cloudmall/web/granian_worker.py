"""One worker process served by granian (a Rust HTTP server for ASGI) on a socket we bound.

granian's own process manager is not used: `web/server.py` supervises every worker the same way
for either server (one SO_REUSEPORT socket per worker, kept by the parent across a restart;
restarts; SIGTERM passed on; a dead worker's Prometheus files forgotten). Inside the worker runs
granian's embedded server, handed our socket instead of binding one, with uvicorn's own
X-Forwarded-For middleware in front of the app so that proxy headers count from exactly the same
trusted addresses (`FORWARDED_ALLOW_IPS`, 127.0.0.1 by default) under either server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Mapping
from typing import Any

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.net import SocketHolder  # type: ignore[attr-defined]
from granian.server.embed import Server
from uvicorn.importer import import_from_string
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

log = logging.getLogger(__name__)


class _ServerOnOurSocket(Server):
    """granian's embedded server listening on a socket it is given (`sock`)."""

    def __init__(self, target: Any, sock: socket.socket, **options: Any) -> None:
        super().__init__(target, **options)
        self._our_socket = sock

    def _init_shared_socket(self) -> None:
        # What granian does with a socket it built itself on other platforms: hold its fd.
        # (granian's stub lists SocketHolder without a constructor; the binary takes these.)
        fd = self._our_socket.fileno()
        self._ssp = None
        self._shd = SocketHolder(fd, False, self.backlog)  # type: ignore[call-arg,assignment]
        self._sfd = fd  # type: ignore[assignment]


#: What the Server header says under granian. granian adds `server: granian` to every answer that
#: has no Server header and offers no switch to leave it out (hyper's `entry(SERVER).or_insert`),
#: so the header cannot be absent as under uvicorn (`server_header=False`); naming the shop
#: instead keeps the software behind it unnamed.
SERVER_HEADER = (b"server", b"cloudmall")


def naming_the_shop(app: Any) -> Any:
    """`app` with a Server header of its own on every answer, so granian adds none."""

    async def named(scope: Any, receive: Any, send: Any) -> None:
        async def send_named(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"server" for name, _ in headers):
                    message = {**message, "headers": [*headers, SERVER_HEADER]}
            await send(message)

        await app(scope, receive, send_named if scope["type"] == "http" else send)

    return named


def trusting_proxies(app: Any) -> ProxyHeadersMiddleware:
    """`app` behind uvicorn's proxy-header rule, with uvicorn's default trusted addresses."""
    return ProxyHeadersMiddleware(
        app, trusted_hosts=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
    )


def tuning(environ: Mapping[str, str]) -> tuple[int, int | None]:
    """granian's own tuning variables, named as its CLI names them (docs/settings.md): its Rust
    threads and the most requests in flight (unset: granian's defaults, 1 and the backlog).
    Raises ValueError naming the variable when one is not a whole number of at least 1."""
    threads = _at_least_one(environ, "GRANIAN_RUNTIME_THREADS")
    return threads or 1, _at_least_one(environ, "GRANIAN_BACKPRESSURE")


def _at_least_one(environ: Mapping[str, str], name: str) -> int | None:
    text = environ.get(name) or ""
    if not text:
        return None
    if not text.isdecimal() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


async def _serve(app: str, sock: socket.socket, backlog: int, grace: float) -> None:
    runtime_threads, backpressure = tuning(os.environ)
    server = _ServerOnOurSocket(
        trusting_proxies(naming_the_shop(import_from_string(app))),
        sock,
        address=sock.getsockname()[0],
        port=sock.getsockname()[1],
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,
        backlog=backlog,
        log_level=LogLevels.warning,
        log_access=False,
        runtime_threads=runtime_threads,
        backpressure=backpressure,
    )
    loop = asyncio.get_running_loop()

    def stop() -> None:
        # granian stops accepting, closes idle keep-alive connections, finishes the requests in
        # flight, then runs the app's shutdown; it has no time limit of its own for that
        server.stop()  # type: ignore[no-untyped-call]
        loop.call_later(grace, _give_up, grace)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    await server.serve()


def _give_up(grace: float) -> None:
    """Where uvicorn cancels what is still in flight after its grace time: exit without it
    (a single worker has no parent to kill it, and the orchestrator's SIGKILL comes later)."""
    log.warning("requests still in flight %s s after SIGTERM: exiting without them", grace)
    os._exit(1)


def run(app: str, sock: socket.socket, backlog: int, grace: float) -> None:
    """Serve `app` (an import string) on `sock` until SIGTERM or SIGINT, and after that for at
    most `grace` seconds."""
    uvloop.run(_serve(app, sock, backlog, grace))
