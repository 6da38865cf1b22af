"""Domain errors → HTTP statuses, in one place. Clients get a code and a sentence, never a trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudmall.domain import errors
from cloudmall.services.ports import DatabaseUnavailable
from cloudmall.web.allow import allowed_methods

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[errors.CloudmallError], int]] = [
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.AuthenticationFailed, 401),
    (errors.PermissionDenied, 403),
    (errors.Conflict, 409),
    (errors.PaymentDeclined, 402),
    (errors.UnsupportedMedia, 415),
    (errors.PayloadTooLarge, 413),
    (errors.RateLimited, 429),
    (errors.DependencyUnavailable, 503),
]


HTTP_CODES = {
    400: "unreadable_body",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}
#: The codes the web layer answers itself (besides the domain's): each has its storefront text.
WEB_CODES = frozenset(
    {
        *HTTP_CODES.values(),
        "http_error",
        "invalid_request",
        "database_unavailable",
        "internal_error",
        "bad_host",  # web.guards: a Host header the shop does not answer for
        "origin_not_verified",  # web.guards: an API request that did not come through CloudFront
    }
)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def _details(exc: errors.CloudmallError) -> dict[str, Any]:
    if isinstance(exc, errors.TotalMismatch):
        return {"currentTotal": str(exc.current), "sentTotal": str(exc.sent)}
    if isinstance(exc, errors.OutOfStock):
        return {"productId": exc.product_id, "available": exc.available}
    if isinstance(exc, errors.PaymentDeclined):
        return {"reason": exc.reason}
    if isinstance(exc, errors.ConsentRequired):
        return {"missing": exc.missing}
    if isinstance(exc, errors.InvalidInput) and exc.reason:
        return {"field": exc.field, "reason": exc.reason}
    return {}


def status_for(exc: errors.CloudmallError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 400


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CloudmallError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    elif status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    elif status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(
        error_body(exc.code, exc.message, **_details(exc)), status_code=status, headers=headers
    )


# pydantic's error types → the few reasons the storefront has a sentence for (i18n.js
# "problem.<reason>"); the validator's own text is for developers and never shown to shoppers.
REASONS = {
    "missing": "missing",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "literal_error": "choice",
    "enum": "choice",
    "json_invalid": "unreadable",
}
PROBLEM_REASONS = frozenset({*REASONS.values(), "wrong_type", "bad_format", "invalid"})


def problem_reason(error_type: str) -> str:
    """The stable reason for one pydantic error type."""
    if error_type in REASONS:
        return REASONS[error_type]
    if error_type.endswith(("_type", "_parsing")) or error_type == "int_from_float":
        return "wrong_type"
    if error_type in ("string_pattern_mismatch", "value_error", "assertion_error"):
        return "bad_format"
    return "invalid"


def _location(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("loc", ()) if part != "body")


def _describe(error: Mapping[str, Any]) -> str:
    location = _location(error)
    message = str(error.get("msg", "invalid value"))
    return f"{location}: {message}" if location else message


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 `invalid_request`; `details.problems` names each field and a reason (a code)."""
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    problems = [
        {"field": _location(error), "reason": problem_reason(str(error.get("type", "")))}
        for error in found
    ]
    message = "; ".join(_describe(error) for error in found) or "Invalid request"
    return JSONResponse(error_body("invalid_request", message, problems=problems), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request.app.router.routes, request.scope)
    return JSONResponse(
        error_body(HTTP_CODES.get(exc.status_code, "http_error"), message),
        status_code=exc.status_code,
        headers=headers,
    )


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse(
        error_body("database_unavailable", "The shop's database is unavailable; try again shortly"),
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = request.scope.get("state", {}).get("request_id", "")
    log.exception("unhandled error (request %s)", request_id)
    return JSONResponse(
        error_body("internal_error", "Something went wrong on our side", requestId=request_id),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.CloudmallError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DatabaseUnavailable, _database_down)
    app.add_exception_handler(Exception, _unexpected)
