"""Request guards at the edge of the app: paths it cannot hold, foreign hosts, private endpoints.

- A path with control characters (NUL included) or bytes that are not UTF-8 names nothing the
  shop has: 404 before any route sees it, so no store, file server or database gets such a name.
- With `CLOUDMALL_ALLOWED_HOSTS` set, a request naming another host is refused with 400
  `bad_host` (the health checks excepted: load balancers probe them by instance address).
- Redirects the app makes (trailing slashes) carry a relative Location: a forged Host header is
  never reflected into an answer a cache in front could keep.
- `/metrics` answers only clients in `CLOUDMALL_METRICS_ALLOW`; anyone else gets 404.
- With an origin-verify secret (`CLOUDMALL_ORIGIN_VERIFY_SECRET`: a function behind CloudFront),
  an `/api/` request without CloudFront's `X-Origin-Verify` header of that value is refused with
  403 `origin_not_verified`: only CloudFront's requests reach the routes, so the viewer address
  it adds (`CLOUDMALL_CLIENT_ADDRESS_HEADER`) can be believed.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

HEALTH_PATHS = frozenset({"/livez", "/readyz"})
METRICS_PATH = "/metrics"
API_PREFIX = "/api/"
ORIGIN_VERIFY_HEADER = b"x-origin-verify"
# Control characters, and U+FFFD: what percent-decoding leaves of bytes that are not UTF-8.
_BAD_PATH = re.compile(r"[\x00-\x1f\x7f\ufffd]")


class RequestGuard:
    """Pure ASGI: refuses bad paths, foreign hosts, outside metrics scrapers; relative redirects."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Sequence[str],
        metrics_allow: Sequence[Network],
        origin_verify: str = "",
    ) -> None:
        self.app = app
        self.allowed_hosts = [host.lower() for host in allowed_hosts]
        self.metrics_allow = list(metrics_allow)
        self.origin_verify = origin_verify.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        host = _header(scope, b"host")
        if _BAD_PATH.search(path):
            await _refuse(send, 404, "not_found", "No page has characters like these in its path")
            return
        if path not in HEALTH_PATHS and not host_allowed(host, self.allowed_hosts):
            await _refuse(send, 400, "bad_host", "This shop does not answer for that host name")
            return
        if path == METRICS_PATH and not client_allowed(scope.get("client"), self.metrics_allow):
            await _refuse(send, 404, "not_found", "Not Found")
            return
        if self.origin_verify and path.startswith(API_PREFIX) and not self._from_origin(scope):
            await _refuse(send, 403, "origin_not_verified", "Reach the shop through its address")
            return

        async def send_relative_redirects(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [
                    (name, relative_location(value, host) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_relative_redirects)

    def _from_origin(self, scope: Scope) -> bool:
        """The request carries CloudFront's secret; compared in constant time, so the answer's
        timing tells nothing of how much of a guess was right."""
        sent = _header(scope, ORIGIN_VERIFY_HEADER).encode("latin-1")
        return hmac.compare_digest(sent, self.origin_verify)


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """`host` (a Host header, port and all) names one of `allowed` ("*.example.com" for any
    subdomain); an empty `allowed` lets any host in."""
    if not allowed:
        return True
    name = urlsplit(f"//{host}").hostname if host else None
    if not name:
        return False
    return any(
        name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))
        for pattern in allowed
    )


def client_allowed(client: tuple[str, int] | None, networks: Sequence[Network]) -> bool:
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return any(address in network for network in networks)


def relative_location(location: bytes, host: str) -> bytes:
    """A Location pointing at this very host, as a path; other places are left alone."""
    parts = urlsplit(location.decode("latin-1"))
    if parts.netloc and parts.netloc.lower() != host.lower():
        return location
    # "//evil.example" would be a protocol-relative URL: one leading slash only.
    path = "/" + (parts.path or "/").lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
