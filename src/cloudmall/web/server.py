"""Serving the app: uvicorn or granian workers, each with its own listening socket on one port.

uvicorn's own multi-worker mode shares one listening socket, and whichever worker accepts first
takes a burst of new connections: with keep-alive clients (a load balancer, a load generator) one
worker can end up holding nearly all of them while the other idles. Here every worker binds its
own socket with SO_REUSEPORT, so the kernel spreads connections evenly over the workers. The
parent only supervises: it restarts a worker that dies, and on SIGTERM or SIGINT passes SIGTERM
on, so each worker stops accepting, finishes its requests in flight and exits.

Which HTTP server runs inside a worker (`HttpServer`) changes nothing of that: the supervision,
the sockets, the signals and the metrics clean-up are this module's for both.
"""

from __future__ import annotations

import copy
import logging
import logging.config
import multiprocessing
import os
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client import multiprocess
from uvicorn.config import LOGGING_CONFIG

from cloudmall.config import HttpServer
from cloudmall.web.log_context import LOG_FORMAT, RequestContextFilter

log = logging.getLogger(__name__)

APP = "cloudmall.web.asgi:app"
#: The local function runtime: API Gateway's part in front of the Lambda handler.
FUNCTION_APP = "cloudmall.serverless.local_app:app"
GRACE_SECONDS = 20
BACKLOG = 4096


#: The mail adapters' logger: one line per mail (recipient and subject), shown by the server.
MAIL_LOGGER = "cloudmall.adapters.mail"


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging; the shop's warnings, and a line per mail sent (on one machine,
    where mail goes to var/mail, that line is how a developer notices one), in one format that
    names the request, trace and span of each line (web.log_context)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_context": {"()": RequestContextFilter}}
    config["formatters"]["shop"] = {"format": LOG_FORMAT}
    config["handlers"]["shop"] = {
        "formatter": "shop",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["request_context"],
    }
    config["loggers"]["cloudmall"] = {"handlers": ["shop"], "level": "WARNING", "propagate": False}
    config["loggers"][MAIL_LOGGER] = {"handlers": ["shop"], "level": "INFO", "propagate": False}
    return config


def _config(host: str, port: int, app: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=_log_config(),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        server_header=False,
        backlog=BACKLOG,
    )


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _run_worker(
    host: str, port: int, app: str, sock: socket.socket, server: HttpServer = HttpServer.UVICORN
) -> None:
    if server is HttpServer.GRANIAN:
        # Imported here: a uvicorn worker never loads granian.
        from cloudmall.web import granian_worker

        logging.config.dictConfig(_log_config())  # what uvicorn does with it in its workers
        granian_worker.run(app, sock, BACKLOG, GRACE_SECONDS)
        return
    uvicorn.Server(_config(host, port, app)).run(sockets=[sock])


def serve(
    host: str,
    port: int,
    workers: int,
    app: str = APP,
    server: HttpServer = HttpServer.UVICORN,
) -> None:
    """Serve `app` (an import string) with `workers` processes of `server`."""
    if workers == 1:
        if server is HttpServer.GRANIAN:
            _run_worker(host, port, app, _listen(host, port), server)
        else:
            uvicorn.Server(_config(host, port, app)).run()
        return
    context = multiprocessing.get_context("spawn")
    sockets = [_listen(host, port) for _ in range(workers)]

    def start(sock: socket.socket) -> BaseProcess:
        process = context.Process(
            target=_run_worker, args=(host, port, app, sock, server), daemon=False
        )
        process.start()
        return process

    processes = [start(sock) for sock in sockets]
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(0.5):
        for index, process in enumerate(processes):
            if not process.is_alive():
                log.warning(
                    "worker %s exited with %s; starting another", process.pid, process.exitcode
                )
                _forget_metrics_of(process)
                processes[index] = start(sockets[index])
    for process in processes:
        process.terminate()  # SIGTERM: stop accepting, finish what is in flight
    for process in processes:
        process.join(GRACE_SECONDS + 5)
        if process.is_alive():
            process.kill()
            process.join()
        _forget_metrics_of(process)


def _forget_metrics_of(process: BaseProcess) -> None:
    """A dead worker's in-progress requests no longer count (Prometheus multi-process mode)."""
    if process.pid is not None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
