"""The local gateway's events and Mangum: cookies, repeated headers and binary bodies survive
the trip request → payload-2.0 event → app → answer → HTTP response, as through API Gateway."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cloudmall.serverless.gateway import _respond, to_event

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


async def echo(request: Request) -> Response:
    body = await request.body()
    answer = JSONResponse(
        {
            "cookies": dict(request.cookies),
            "multi": request.headers.getlist("x-multi"),
            "client": request.client.host if request.client else None,
            "body_length": len(body),
            "body_is_png": body == PNG,
        }
    )
    answer.set_cookie("a", "1")
    answer.set_cookie("b", "2")
    answer.headers.append("x-out", "one")
    answer.headers.append("x-out", "two")
    return answer


async def picture(request: Request) -> Response:
    return Response(PNG, media_type="image/png")


ECHO = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/p.png", picture)])


def scope(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": headers,
        "client": ("198.51.100.4", 5555),
        "http_version": "1.1",
    }


def through(scope_: dict[str, Any], body: bytes) -> tuple[dict[str, Any], list[Any]]:
    event = to_event(scope_, body)
    APIGatewayProxyEventV2Model.model_validate(event)
    answer = Mangum(ECHO, lifespan="off")(event, None)  # sets up its own event loop
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(_respond(answer, send))
    return event, sent


def test_cookies_repeated_headers_and_a_binary_body_survive() -> None:
    headers = [
        (b"host", b"shop.local"),
        (b"cookie", b"session=abc; theme=dark"),
        (b"x-multi", b"first"),
        (b"x-multi", b"second"),
        (b"content-type", b"image/png"),
    ]
    event, sent = through(scope("/echo", headers), PNG)
    assert event["cookies"] == ["session=abc", "theme=dark"] and "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is True  # binary: base64, as API Gateway sends it
    assert event["requestContext"]["http"]["sourceIp"] == "198.51.100.4"
    start, body = sent
    seen = json.loads(body["body"])
    assert seen["cookies"] == {"session": "abc", "theme": "dark"}
    assert seen["multi"] == ["first,second"]  # API Gateway joins repeated headers with commas
    assert seen["client"] == "198.51.100.4"
    assert seen["body_is_png"] and seen["body_length"] == len(PNG)
    out = [(name.decode(), value.decode()) for name, value in start["headers"]]
    assert sorted(v.split(";")[0] for n, v in out if n == "set-cookie") == ["a=1", "b=2"]
    assert ("x-out", "one,two") in out  # Mangum joins repeated answer headers, as API Gateway


def test_a_binary_answer_comes_back_byte_for_byte() -> None:
    _, sent = through(scope("/p.png", [(b"host", b"shop.local")], method="GET"), b"")
    start, body = sent
    assert start["status"] == 200 and body["body"] == PNG
