"""Pure-ASGI middleware: request ids, security headers, latency metrics, and a body-size cap."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudmall.services.ports import Metrics
from cloudmall.services.request_context import current_request_id

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob: https: http:; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_PAGE = [(b"content-security-policy", PAGE_CSP.encode()), (b"x-frame-options", b"DENY")]


class RequestIds:
    """Request ids: a random per-process prefix and a counter (unique, and far cheaper than
    uuid4). `renew` draws a new prefix: processes restored from one snapshot (Lambda SnapStart)
    would otherwise all number their requests from the same prefix and count."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._counter):x}"


REQUEST_IDS = RequestIds()


def _route_label(scope: Scope) -> str:
    if "cloudmall.route" in scope:  # answered by the catalogue fast path
        return str(scope["cloudmall.route"])
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    return "/media" if scope["path"].startswith("/media/") else "static"


class RequestContextMiddleware:
    """Gives each request an id, adds security headers, counts and times it by route template
    (through the shop's Metrics port)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or REQUEST_IDS.next()
        scope.setdefault("state", {})["request_id"] = request_id
        authenticated = any(name == b"authorization" for name, _ in scope["headers"])
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                no_store = authenticated and all(
                    name.lower() != b"cache-control" for name, _ in headers
                )
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(_ALWAYS)
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):  # the storefront and the API docs
                    headers.extend(_PAGE)
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        metrics: Metrics = scope["app"].state.shop.metrics
        metrics.request_started()
        request_token = current_request_id.set(request_id)  # the events it causes carry it
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_request_id.reset(request_token)
            metrics.request_finished(
                method=scope["method"],
                route=_route_label(scope),
                status=status,
                seconds=time.perf_counter() - started,
            )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if 0 < len(text) <= 128 and text.isprintable():
                return text
    return None


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        received = 0

        async def receive_counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the endpoint's body parsing: the error handlers answer 413.
                    raise HTTPException(413, _too_large_message(self.max_bytes))
            return message

        await self.app(scope, receive_counting, send)


def _too_large_message(max_bytes: int) -> str:
    return f"Request bodies can be at most {max_bytes // (1024 * 1024)} MB"


async def _too_large(send: Send, max_bytes: int) -> None:
    body: Any = orjson.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": _too_large_message(max_bytes),
            }
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
