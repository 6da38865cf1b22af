"""API Gateway's part, locally: `cloudmall serve --runtime function`.

Each HTTP request becomes an HTTP API payload-2.0 event, handed to the function's handler in this
process; its answer becomes the HTTP response. As on Lambda, a worker runs one invocation at a
time: every invocation runs on one thread of its own (which also owns the handler's event loop,
where the engine's connections live), and requests queue for it. The client address
(`requestContext.http.sourceIp`) is the connection's peer as uvicorn gives it: X-Forwarded-For
counts only from `FORWARDED_ALLOW_IPS` (127.0.0.1 by default), the same rule as the server
runtime; the function itself never reads forwarding headers.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.types import Message, Receive, Scope, Send

Event = dict[str, Any]
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")


def _own_event_loop() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())


def _load_handler() -> Any:
    from cloudmall.serverless import handler

    return handler


class LambdaContext:
    """The few context fields a handler may read."""

    function_name = "cloudmall-local"
    memory_limit_in_mb = 0

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class LocalGateway:
    """An ASGI app that invokes the function in-process, one event at a time."""

    def __init__(self) -> None:
        self._invoker = ThreadPoolExecutor(max_workers=1, initializer=_own_event_loop)
        self._handler = self._invoker.submit(_load_handler).result()  # init, as Lambda's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        event = to_event(scope, await _read_body(receive))
        context = LambdaContext(event["requestContext"]["requestId"])
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._invoker, self._handler, event, context)
        await _respond(answer, send)


def to_event(scope: Scope, body: bytes) -> Event:
    """The payload-2.0 event API Gateway's HTTP API would send for this request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:  # repeated headers arrive comma-joined, as API Gateway sends them
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    content_type = headers.get("content-type", "")
    binary = bool(body) and not content_type.startswith(_TEXT_TYPES)
    now = time.time()
    request_id = secrets.token_hex(8)
    event: Event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": scope["path"],
        "rawQueryString": scope["query_string"].decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": scope["method"],
                "path": scope["path"],
                "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
                "sourceIp": scope["client"][0] if scope.get("client") else "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace"),
        "isBase64Encoded": binary,
    }
    if cookies:
        event["cookies"] = cookies
    return event


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(answer: Event, send: Send) -> None:
    body = answer.get("body") or ""
    payload = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    headers = [
        (name.lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in (answer.get("headers") or {}).items()
        if name.lower() != "content-length"
    ]
    headers += [(b"set-cookie", cookie.encode("latin-1")) for cookie in answer.get("cookies") or []]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": answer["statusCode"], "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
