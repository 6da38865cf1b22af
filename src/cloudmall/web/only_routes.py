"""One function's share of the API: a request for any other route is 404, whatever its method."""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from cloudmall.web.errors import error_body


class OnlyRoutes:
    """Passes on the requests whose (method, path) is one of `routes` (FastAPI path templates);
    answers 404 to the rest, as API Gateway would never have sent them here."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self._routes: list[tuple[str, re.Pattern[str]]] = [
            (method, compile_path(template)[0]) for method, template in routes
        ]

    def answers(self, method: str, path: str) -> bool:
        return any(m == method and pattern.match(path) for m, pattern in self._routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.answers(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            error_body("not_found", "This function does not serve that route"), status_code=404
        )
        await response(scope, receive, send)
