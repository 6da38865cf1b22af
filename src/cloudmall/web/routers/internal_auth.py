"""What every internal route shares: the shared secret checked first, and errors answered whole.

An internal route answers only a request whose X-Cloudmall-Internal header equals
CLOUDMALL_INTERNAL_SECRET (compared in constant time; 401 otherwise), checked before its body is
read: whatever the body says (the acting customer, too) is believed only after that. A domain
error is answered with its attributes (domain.error_wire), so the caller raises it again as the
same class.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from cloudmall.domain.error_wire import to_wire
from cloudmall.domain.errors import AuthenticationFailed, CloudmallError
from cloudmall.web.errors import status_for

INTERNAL_HEADER = "X-Cloudmall-Internal"
INTERNAL_PREFIX = "/internal/v1"


class SecretRefused(AuthenticationFailed):
    """The request did not carry the services' shared secret: the app's own 401, whose body
    (without the error's attributes) tells a calling service it was refused, not its caller."""


async def require_internal_secret(request: Request) -> None:
    secret = request.app.state.settings.internal_secret.get_secret_value().encode()
    sent = request.headers.get(INTERNAL_HEADER, "").encode()
    if not secret or not hmac.compare_digest(sent, secret):
        raise SecretRefused("Internal routes need the services' shared secret")


class InternalRoute(APIRoute):
    """A route whose domain errors are answered with their attributes (see the module's doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SecretRefused:
                raise
            except CloudmallError as exc:
                return JSONResponse({"error": to_wire(exc)}, status_code=status_for(exc))

        return handle


def internal_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(
        prefix=f"{INTERNAL_PREFIX}{prefix}",
        tags=[tag],
        route_class=InternalRoute,
        dependencies=[Depends(require_internal_secret)],
        include_in_schema=False,
    )
