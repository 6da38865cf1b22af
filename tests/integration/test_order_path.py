"""The lean `POST /api/orders` (web.order_path) answers exactly as the FastAPI route: the same
requests, sent to the app with and without it (one shop, SQLite), get the same status, body and
headers; placed orders differ only in their ids and times."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloudmall.adapters.db.migrations import upgrade
from cloudmall.config import Settings
from cloudmall.services.commands import CreateProduct, LogIn, SignUp
from cloudmall.web.app import build_web_shop, create_app
from cloudmall.web.order_path import OrderFastPath

PASSWORD = "a long enough passphrase"
KEY = "order-path-key-1"
#: Headers that differ between any two answers.
PER_ANSWER = {"x-request-id", "date"}


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, dict[str, Any]]]:
    """(lean, full, data): clients of the app with and without the lean route, one shop."""
    settings = Settings.model_validate(
        {
            "environment": "test",
            "var_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'shop.db'}",
            "secret_key": "order-path-" + "0123456789abcdef" * 4,
            "signups_per_client": 10**9,
        }
    )
    asyncio.run(upgrade(settings.database_url))
    shop = build_web_shop(settings)
    lean_app = create_app(settings, shop=shop)
    full_app = create_app(settings, shop=shop)
    assert any(_is_lean(m.cls) for m in lean_app.user_middleware)
    full_app.user_middleware = [m for m in full_app.user_middleware if not _is_lean(m.cls)]
    with TestClient(lean_app) as lean:
        portal = lean.portal
        assert portal is not None
        data = portal.call(_fill, shop, settings)
        full_app.state.shop = shop  # started by the lean app's lifespan
        yield lean, TestClient(full_app), data


def _is_lean(middleware: object) -> bool:
    return middleware is OrderFastPath


async def _fill(shop: Any, settings: Settings) -> dict[str, Any]:
    agreed = frozenset({"privacy", "terms"})
    for name in ("buyer", "other"):
        await shop.handle(SignUp(f"{name}@path.example.com", PASSWORD, name, "path", agreed))
    tokens = {
        name: (await shop.handle(LogIn(f"{name}@path.example.com", PASSWORD, "path"))).access_token
        for name in ("buyer", "other")
    }
    mug = await shop.handle(CreateProduct("Mug", "1000.00", stock_quantity=1000))
    last = await shop.handle(CreateProduct("Last one", "50.00", stock_quantity=1))
    return {"tokens": tokens, "mug": mug.id, "last": last.id}


def _cases(data: dict[str, Any]) -> list[tuple[str, dict[str, str], bytes]]:
    bearer = {"Authorization": f"Bearer {data['tokens']['buyer']}"}
    json_type = {"Content-Type": "application/json"}
    both = {**bearer, **json_type}
    mug, last = data["mug"], data["last"]

    def body(value: str) -> bytes:
        return value.encode()

    one = body(f'{{"items": [{{"productId": {mug}, "quantity": 1}}]}}')
    return [
        ("no credentials", json_type, one),
        ("another scheme", {"Authorization": "Basic abc", **json_type}, one),
        ("a bad token", {"Authorization": "Bearer nope", **json_type}, one),
        ("an empty bearer", {"Authorization": "Bearer ", **json_type}, one),
        ("broken JSON, no credentials", json_type, b'{"items": ['),
        ("broken JSON", both, b'{"items": ['),
        ("not UTF-8", both, b'{"items": "\xff"}'),
        ("no content type", bearer, one),
        ("text", {**bearer, "Content-Type": "text/plain"}, one),
        ("an empty body", both, b""),
        ("a list", both, b"[]"),
        ("neither shape", both, b"{}"),
        ("both shapes", both, body(f'{{"items": [], "products": [{mug}]}}')),
        ("no items", both, b'{"items": []}'),
        ("bad lines", both, body(f'{{"items": [{{"productId": {mug}, "quantity": 0}}, {{}}]}}')),
        ("NaN total", both, body(f'{{"products": [{mug}], "totalAmount": NaN}}')),
        ("a long key", {**both, "Idempotency-Key": "k" * 300}, b'{"items": []}'),
        ("a bad key", {**both, "Idempotency-Key": "bad key!"}, one),
        ("unknown product", both, b'{"items": [{"productId": 987654, "quantity": 1}]}'),
        ("wrong total", both, body(f'{{"products": [{mug}], "totalAmount": "1.00"}}')),
        ("someone else", both, body(f'{{"products": [{mug}], "userId": 999999}}')),
        ("out of stock", both, body(f'{{"items": [{{"productId": {last}, "quantity": 2}}]}}')),
        ("placed", both, one),
        ("guide shape, +json", {**bearer, "Content-Type": "application/vnd.x+json"}, one),
        ("with a key", {**both, "Idempotency-Key": KEY}, one),
        ("replayed", {**both, "Idempotency-Key": KEY}, one),
    ]


def _same_shape(lean: Any, full: Any) -> None:
    """Equal, but for ids and times (which two placed orders never share)."""
    if isinstance(full, dict):
        assert isinstance(lean, dict) and lean.keys() == full.keys()
        for key, value in full.items():
            if key not in ("orderId", "id") and not key.endswith(("At", "_at")):
                _same_shape(lean[key], value)
    elif isinstance(full, list):
        assert isinstance(lean, list) and len(lean) == len(full)
        for a, b in zip(lean, full, strict=True):
            _same_shape(a, b)
    else:
        assert lean == full


def test_the_lean_route_answers_exactly_as_the_fastapi_route(
    clients: tuple[TestClient, TestClient, dict[str, Any]],
) -> None:
    lean, full, data = clients
    statuses = set()
    for name, headers, content in _cases(data):
        expected, got = (
            client.post("/api/orders", headers=_own_key(headers, side), content=content)
            for client, side in ((full, "full"), (lean, "lean"))
        )
        statuses.add(expected.status_code)
        assert got.status_code == expected.status_code, (name, got.text, expected.text)
        assert _headers(got) == _headers(expected), name
        if expected.status_code == 201:
            _same_shape(got.json(), expected.json())
        else:
            assert got.content == expected.content, (name, got.text, expected.text)
    assert statuses >= {201, 400, 401, 403, 404, 409, 422}, statuses


def _own_key(headers: dict[str, str], side: str) -> dict[str, str]:
    """Each app its own Idempotency-Key (one shop: the second would get the first's answer)."""
    key = headers.get("Idempotency-Key")
    if key is None or len(key) > 100:
        return headers
    return {**headers, "Idempotency-Key": f"{key}-{side}"}


def _headers(answer: Any) -> list[tuple[str, str]]:
    return [
        (name, value if name != "content-length" or answer.status_code != 201 else "")
        for name, value in answer.headers.multi_items()
        if name not in PER_ANSWER
    ]
