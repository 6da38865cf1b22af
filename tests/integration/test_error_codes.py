"""Every error the API answers to a bad request is a code the storefront can say in Korean and
English: each route of the OpenAPI document, sent invalid path values, query values and bodies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cloudmall.bootstrap import migrate
from cloudmall.config import Settings
from cloudmall.services.commands import MakeAdmin
from cloudmall.services.shop import Shop
from cloudmall.web.app import create_app
from tests.storefront_texts import missing

PASSWORD = "a long enough passphrase"
PARAMETER = re.compile(r"\{(\w+)(?::path)?\}")
WRONG = "zz" * 300  # too long for every text, not a number, not any choice


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(environment="test", var_dir=tmp_path, secret_key="codes-" + "0f" * 32)
    asyncio.run(migrate(settings))
    with TestClient(create_app(settings)) as client:
        shop: Shop = client.app.state.shop  # type: ignore[attr-defined]
        client.portal.call(shop.handle, MakeAdmin("staff@example.com", PASSWORD, "직원"))  # type: ignore[union-attr]
        yield client


def _texts_missing(answer: Response) -> list[str]:
    """The i18n keys this error answer needs that a language lacks (empty: all there)."""
    error = answer.json()["error"]
    details = error.get("details") or {}
    keys = [f"api.{error['code']}"]
    keys += [f"problem.{problem['reason']}" for problem in details.get("problems", [])]
    if error["code"] == "invalid_input" and details.get("reason"):
        keys.append(f"problem.{details['reason']}")
    if error["code"] == "password_rejected":
        keys.append(f"error.password.{details['reason']}")
    return [f"{key} ({', '.join(langs)})" for key in keys if (langs := missing(key))]


def _requests(path: str, method: str, operation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Invalid variations of one operation: path values, each query value, bodies."""
    valid = PARAMETER.sub("1", path)
    if PARAMETER.search(path):
        yield {"url": PARAMETER.sub("not-a-number", path)}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            yield {"url": valid, "params": {parameter["name"]: WRONG}}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        yield {"url": valid, "json": []}
        yield {"url": valid, "json": {}}
        yield {"url": valid, "content": b"{", "headers": {"content-type": "application/json"}}
        schema = content["application/json"]["schema"]
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        if name:
            yield {"url": valid, "json": {"__model__": name}}  # expanded by the caller
    if "multipart/form-data" in content:
        yield {"url": valid, "files": {"other": ("a.txt", b"not an image", "text/plain")}}


def _wrong_fields(openapi: dict[str, Any], model: str) -> dict[str, Any]:
    """Every field of a body model given a value of the wrong kind."""
    properties = openapi["components"]["schemas"][model].get("properties", {})
    return {name: {"wrong": [1]} for name in properties}


def test_every_error_answered_to_a_bad_request_has_both_translations(client: TestClient) -> None:
    token = client.post(
        "/api/auth/login", json={"email": "staff@example.com", "password": PASSWORD}
    ).json()["access_token"]
    staff = {"Authorization": f"Bearer {token}"}
    openapi = client.get("/openapi.json").json()
    untranslated: dict[str, list[str]] = {}
    codes: dict[str, int] = {}
    reasons: set[str] = set()
    sent = 0
    for path, operations in openapi["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            for request in _requests(path, method, operation):
                if isinstance(request.get("json"), dict) and "__model__" in request["json"]:
                    request["json"] = _wrong_fields(openapi, request["json"]["__model__"])
                for headers in (staff, {}):
                    sent += 1
                    sending = {**request, "headers": {**request.get("headers", {}), **headers}}
                    answer = client.request(method.upper(), **sending)
                    if answer.status_code < 400:
                        continue
                    assert answer.status_code != 500, (method, path, request, answer.text)
                    error = answer.json()["error"]
                    codes[error["code"]] = codes.get(error["code"], 0) + 1
                    problems = (error.get("details") or {}).get("problems", [])
                    reasons.update(problem["reason"] for problem in problems)
                    if lacking := _texts_missing(answer):
                        untranslated[f"{method.upper()} {path} → {error['code']}"] = lacking
    assert sent > 100
    assert codes.get("invalid_request", 0) > 50 and "authentication_failed" in codes, codes
    assert "not_found" in codes, codes
    assert {"missing", "wrong_type", "too_long", "unreadable"} <= reasons, reasons
    assert untranslated == {}
