"""`POST /api/orders` without FastAPI's per-request machinery, answering exactly as its route.

Under order load a third of a worker's Python time was the framework around the one route that
matters most (routing, dependency solving, exception wrappers, exit stacks). This middleware
answers that one route itself, in the steps FastAPI takes for it and with the route's own parts:
the body read and parsed as FastAPI does (stdlib `json` for JSON media types only, the same
errors), then the caller (`deps`' bearer scheme and account check), then the route's own header
and body fields validated by FastAPI's own functions (errors in FastAPI's order, header before
body), then the route's endpoint function itself. Errors are answered by the app's own handlers
(`web.errors`); anything else goes up to the server error handler as it does from the route.
The FastAPI route stays declared: it documents the operation (OpenAPI) and answers whenever this
path does not apply (another method, a mounted root path, an app without the route).
"""

from __future__ import annotations

import email.message
import json
from functools import lru_cache
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.datastructures import Default
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic_core import PydanticUndefined
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Receive, Scope, Send

from cloudmall.web import deps

PATH = "/api/orders"
METHOD = "POST"
#: What the route depends on (FastAPI's order: sub-dependencies first, each once).
EXPECTED_DEPENDENCIES = [deps.get_shop, deps.get_principal]


def order_route(app: FastAPI) -> Any:
    """The app's effective `POST /api/orders` route (FastAPI's route with what its inclusion
    adds), if the app has it and it asks for nothing this path does not do: no dependencies
    but the shop and the caller, no body size limit of its own, FastAPI's strict content type.
    """
    for candidate in app.router.routes:
        for effective in getattr(candidate, "effective_route_contexts", lambda: ())():
            route = effective.original_route
            if (
                isinstance(route, APIRoute)
                and effective.path == PATH
                and METHOD in effective.methods
                and effective.max_body_size is None
                and effective.strict_content_type in (True, Default(True))
                and effective.dependant is not None
                and [d.call for d in effective.dependant.dependencies] == EXPECTED_DEPENDENCIES
            ):
                return effective
    return None


class OrderFastPath:
    def __init__(self, app: ASGIApp, *, route: Any) -> None:
        self.app = app
        self.route = route.original_route
        dependant = route.dependant
        self._headers = dependant.header_params
        self._body = dependant.body_params
        self._endpoint: Any = dependant.call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != METHOD
            or scope.get("root_path")
            or MAX_BODY_SIZE_SCOPE_KEY in scope  # Starlette's own body limit: FastAPI's care
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # the request's route label, as routing would set it
        scope["endpoint"] = self._endpoint
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        try:
            response = await self._answer(request)
        except Exception as exc:
            handler = _handler_for(scope["app"], exc)
            if handler is None:
                raise  # to the server error handler, as from the route
            response = await handler(request, exc)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Any:
        body = await _read_body(request)
        shop = await deps.get_shop(request)
        principal = await deps.caller(request)
        header_values, errors = request_params_to_args(self._headers, request.headers)
        body_values, body_errors = await request_body_to_args(
            self._body, body, embed_body_fields=False
        )
        errors += body_errors
        if errors:
            raise RequestValidationError(errors, body=body)
        return await self._endpoint(shop=shop, principal=principal, **header_values, **body_values)


async def _read_body(request: Request) -> Any:
    """The body as FastAPI's route reads it: JSON for JSON media types, else the bytes; none if
    empty. A JSON syntax error is FastAPI's 422 `json_invalid` at its position."""
    try:
        body_bytes = await request.body()
        if not body_bytes:
            return PydanticUndefined
        content_type = request.headers.get("content-type")
        if content_type and _is_json(content_type):
            return await request.json()
        return body_bytes
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ],
            body=exc.doc,
        ) from exc
    except HTTPException:
        raise  # the body limit's 413
    except Exception as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc


@lru_cache(maxsize=256)
def _is_json(content_type: str) -> bool:
    """FastAPI's test: an `application/json` or `application/*+json` media type."""
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _handler_for(app: Any, exc: Exception) -> Any:
    """The app's handler for `exc` (by its class's MRO, as Starlette looks it up), except the
    catch-all, which the server error middleware above applies (and logs) as for any route."""
    handlers = cast(dict[Any, Any], app.exception_handlers)
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
