"""A small TCP fault proxy for the tests: it sits between the app and a service (database, Redis,
S3) and can pass traffic, delay it, reset connections or swallow everything (blackhole).

It runs its own asyncio loop in a daemon thread, so synchronous tests drive it with plain calls:

    with FaultProxy(5432) as proxy:          # listen on proxy.port, forward to 127.0.0.1:5432
        proxy.set_mode("blackhole")          # new and open connections get no answer
        proxy.set_mode("pass")               # back: connections held during the outage are reset

Modes:
- ``pass``: forward both ways.
- ``latency``: forward, each chunk after ``latency`` seconds.
- ``reset``: every open connection is reset (RST), new ones are accepted and reset at once.
- ``blackhole``: connections are accepted but nothing is forwarded or answered (a dead host,
  or a Multi-AZ failover before DNS flips). Leaving the blackhole resets the connections held
  during it, as the old primary's connections die in a real failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from concurrent.futures import Future
from types import TracebackType
from typing import Literal, Self

Mode = Literal["pass", "latency", "reset", "blackhole"]
CHUNK = 65536


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed or unplugged peer looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: Mode = "pass"
        self.latency = 0.0
        self.port = 0
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()  # connections that lived in a blackhole

    # --- control (called from the test's thread) ------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        self._run(self._listen()).result(timeout=10)
        return self

    def set_mode(self, mode: Mode, *, latency: float = 0.0) -> None:
        self._run(self._set_mode(mode, latency)).result(timeout=10)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._run(self._close()).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, coroutine: object) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]

    # --- inside the proxy's loop -------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _set_mode(self, mode: Mode, latency: float) -> None:
        previous, self.mode, self.latency = self.mode, mode, latency
        if mode == "reset" or (previous == "blackhole" and mode != "blackhole"):
            doomed = set(self._open) if mode == "reset" else set(self._held)
            for writer in doomed:
                _abort(writer)
            self._held.clear()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            _abort(writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._open.add(writer)
        try:
            if self.mode == "reset":
                _abort(writer)
                return
            if self.mode == "blackhole":
                self._held.add(writer)
                while await reader.read(CHUNK):  # swallow; never connect upstream
                    pass
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                _abort(writer)
                return
            self._open.add(up_writer)
            try:
                await asyncio.gather(
                    self._pump(reader, up_writer, writer),
                    self._pump(up_reader, writer, up_writer),
                )
            finally:
                self._open.discard(up_writer)
                _abort(up_writer)
        except (OSError, ConnectionError):
            pass
        finally:
            self._open.discard(writer)
            self._held.discard(writer)
            writer.transport.abort()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, peer: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await source.read(CHUNK):
                if self.mode == "blackhole":
                    self._held.add(sink)
                    self._held.add(peer)
                    continue  # dropped on the floor
                if self.mode == "reset":
                    break
                if self.mode == "latency" and self.latency:
                    await asyncio.sleep(self.latency)
                sink.write(data)
                await sink.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            _abort(sink)
            _abort(peer)
