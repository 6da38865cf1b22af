"""API Gateway HTTP API (payload 2.0) events for the handler tests, checked against powertools'
model of the format, and the answers read back."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from cloudmall.serverless.function import Function


def event(
    method: str,
    path: str,
    *,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    source_ip: str = "203.0.113.10",
    query: str = "",
) -> dict[str, Any]:
    """The event API Gateway sends for one request; binary bodies base64, as it sends them."""
    all_headers = {"host": "api.example.com", **(headers or {})}
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    if isinstance(body, dict):
        all_headers["content-type"] = "application/json"
    made: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "tests",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1_796_169_600_000,
        },
        "isBase64Encoded": raw is not None,
    }
    if raw is not None:
        made["body"] = base64.b64encode(raw).decode()
    if cookies:
        made["cookies"] = cookies
    APIGatewayProxyEventV2Model.model_validate(made)  # what API Gateway really sends
    return made


def invoke(function: Function, made: dict[str, Any]) -> dict[str, Any]:
    answer = function(made, None)
    assert set(answer) >= {"statusCode", "headers", "body", "isBase64Encoded"}, answer
    return answer


def body_of(answer: dict[str, Any]) -> bytes:
    if answer["isBase64Encoded"]:
        return base64.b64decode(answer["body"])
    return str(answer["body"]).encode()


def json_of(answer: dict[str, Any]) -> Any:
    return json.loads(body_of(answer))
