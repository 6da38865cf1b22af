"""Repeated catalogue GETs answered straight from the process's current cached answers.

The catalogue routes tag each request with the cached answer they served; this middleware learns
"this exact URL → that answer" and, while the answer is still current (see Shop.peek),
answers the same URL again without routing, validation or I/O. Anything else, and any answer that
is no longer current, goes through the full application as usual.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from cloudmall.services.catalog_cache import CachedBody
from cloudmall.services.shop import Shop
from cloudmall.web.routers.responses import SERVED_KEY, cached_headers, not_modified

CATALOG_PREFIXES = ("/api/products", "/api/categories")
MAX_URLS = 10_000
ROUTE_LABEL = "cloudmall.route"
Header = tuple[bytes, bytes]


class CatalogFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._urls: dict[bytes, str] = {}
        self._heads: dict[str, _Heads] = {}  # by answer key: the current answer's headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(CATALOG_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        url = scope["path"].encode() + b"?" + scope["query_string"]
        key = self._urls.get(url)
        if key is not None:
            shop: Shop = scope["app"].state.shop
            answer = shop.peek(key)
            if answer is not None:
                scope[ROUTE_LABEL] = (
                    scope["path"] if key.startswith("list:") else "/api/products/{product_id}"
                )
                heads = self._heads.get(key)
                if heads is None or heads.answer is not answer:
                    if len(self._heads) >= MAX_URLS:
                        self._heads.pop(next(iter(self._heads)))
                    heads = self._heads[key] = _Heads.of(answer)
                await _send_answer(scope, send, heads)
                return
        await self.app(scope, receive, send)
        served = scope.get(SERVED_KEY)
        if served:
            if len(self._urls) >= MAX_URLS:
                self._urls.pop(next(iter(self._urls)))
            self._urls[url] = served


class _Heads:
    """One cached answer's response headers, encoded once: 304 and 200 (with its length)."""

    __slots__ = ("answer", "not_modified", "ok")

    def __init__(self, answer: CachedBody, not_modified: list[Header], ok: list[Header]) -> None:
        self.answer = answer
        self.not_modified = not_modified
        self.ok = ok

    @classmethod
    def of(cls, answer: CachedBody) -> _Heads:
        common = [
            (name.lower().encode(), value.encode())
            for name, value in cached_headers(answer).items()
        ]
        ok = [
            *common,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        return cls(answer, common, ok)


async def _send_answer(scope: Scope, send: Send, heads: _Heads) -> None:
    answer = heads.answer
    if_none_match = next(
        (v.decode("latin-1") for n, v in scope["headers"] if n == b"if-none-match"), ""
    )
    # Copies: a middleware further out may add to the list it is sent (CORS does, in place).
    if not_modified(answer, if_none_match):
        await send(
            {"type": "http.response.start", "status": 304, "headers": list(heads.not_modified)}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": list(heads.ok)})
    await send({"type": "http.response.body", "body": answer.body})
