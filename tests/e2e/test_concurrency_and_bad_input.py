"""Concurrent checkouts on the SQLite default, and bad input answered with 4xx and a message."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import shop_env
from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import (
    LiveServer,
    card,
    scratch_database,
    start_server,
    stop_server,
)


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path: Path = tmp_path_factory.mktemp("sqlite-default")
    with scratch_database("sqlite", tmp_path) as url:
        server = start_server(shop_env(url, tmp_path), tmp_path)
        try:
            yield server
        finally:
            stop_server(server)


def test_fifty_concurrent_orders_for_ten_units_on_sqlite(sqlite_server: LiveServer) -> None:
    admin = log_in_admin(sqlite_server)
    product = create_product(admin, stock=10)
    shoppers = [sign_up(sqlite_server) for _ in range(5)]

    async def storm() -> list[int]:
        async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=60) as http:

            async def buy(index: int) -> int:
                shopper = shoppers[index % len(shoppers)]
                answer = await http.post(
                    "/api/orders",
                    json={"items": [{"productId": product["id"], "quantity": 1}]},
                    headers=shopper.headers,
                )
                return answer.status_code

            return await asyncio.gather(*(buy(i) for i in range(50)))

    statuses = asyncio.run(storm())
    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 40, statuses
    final = admin.get(f"/api/products/{product['id']}").json()
    assert final["stock_quantity"] == 0


def error_of(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"]["message"], body
    return str(body["error"]["code"])


def test_bad_input_gets_4xx_with_a_message(sqlite_server: LiveServer) -> None:
    admin = log_in_admin(sqlite_server)
    product = create_product(admin, stock=5)
    shopper = sign_up(sqlite_server)
    other = sign_up(sqlite_server)
    orders_url = "/api/orders"

    malformed = shopper.http.post(
        orders_url,
        content=b"{not json",
        headers={**shopper.headers, "Content-Type": "application/json"},
    )
    error_of(malformed, 422)
    for quantity in (0, -1, 10**30):
        body = {"items": [{"productId": product["id"], "quantity": quantity}]}
        error_of(shopper.post(orders_url, json=body), 422)
    too_many = {"items": [{"productId": product["id"], "quantity": 101}]}
    assert error_of(shopper.post(orders_url, json=too_many), 422) == "invalid_request"
    summed = {"items": [{"productId": product["id"], "quantity": 60}] * 2}  # 120 of one product
    assert error_of(shopper.post(orders_url, json=summed), 409) == "order_limit"
    unknown = {"items": [{"productId": 987654, "quantity": 1}]}
    assert error_of(shopper.post(orders_url, json=unknown), 404) == "not_found"
    wrong_total = {"items": [{"productId": product["id"], "quantity": 1}], "totalAmount": "1.00"}
    assert error_of(shopper.post(orders_url, json=wrong_total), 409) == "total_mismatch"
    assert error_of(shopper.post(orders_url, json={"items": []}), 422) == "invalid_request"
    assert error_of(shopper.post(orders_url, json={}), 422) == "invalid_request"

    assert error_of(shopper.http.post(orders_url, json=unknown), 401) == "authentication_failed"
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (
        error_of(shopper.http.get("/api/auth/me", headers=bad_token), 401)
        == "authentication_failed"
    )

    mine = shopper.post(
        orders_url, json={"items": [{"productId": product["id"], "quantity": 1}]}
    ).json()
    assert error_of(other.get(f"/api/orders/{mine['orderId']}"), 404) == "not_found"
    assert error_of(other.post(f"/api/orders/{mine['orderId']}/cancel"), 404) == "not_found"
    assert (
        error_of(
            other.post(f"/api/orders/{mine['orderId']}/pay", json=card("4242424242424242")),
            404,
        )
        == "not_found"
    )
    assert error_of(shopper.get("/api/admin/orders"), 403) == "permission_denied"
    assert (
        error_of(shopper.post("/api/products", json={"name": "x", "price": "1"}), 403)
        == "permission_denied"
    )

    text_file = {"file": ("photo.png", b"just some text, not a picture", "image/png")}
    assert (
        error_of(admin.put(f"/api/products/{product['id']}/image", files=text_file), 415)
        == "unsupported_media"
    )
    big = {"file": ("big.png", b"\x89PNG" + b"\x00" * (9 * 1024 * 1024), "image/png")}
    error_of(admin.put(f"/api/products/{product['id']}/image", files=big), 413)
    assert admin.get(f"/api/products/{product['id']}").json()["image_url"] is None

    assert (
        error_of(shopper.http.get("/api/products", params={"limit": 0}), 422) == "invalid_request"
    )
    assert (
        error_of(shopper.http.get("/api/products", params={"sort": "evil"}), 422)
        == "invalid_request"
    )
    assert error_of(shopper.http.get("/api/products/0"), 422) == "invalid_request"
    assert error_of(shopper.http.get("/no/such/route"), 404) == "not_found"
    wrong_method = shopper.http.patch("/api/products")
    assert error_of(wrong_method, 405) == "method_not_allowed"
    assert wrong_method.headers["allow"] == "GET, POST"
    duplicate = shopper.http.post(
        "/api/auth/signup",
        json={
            "email": shopper.user["email"].upper(),
            "password": "another passphrase",
            "name": "x",
            "consent": {"privacy": True, "terms": True},
        },
    )
    assert error_of(duplicate, 409) == "email_taken"


def test_image_upload_is_stored_and_served_immutable(sqlite_server: LiveServer) -> None:
    admin = log_in_admin(sqlite_server)
    product = create_product(admin, stock=1)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(buffer, format="PNG")
    uploaded = admin.put(
        f"/api/products/{product['id']}/image",
        files={"file": ("x.txt", buffer.getvalue(), "text/plain")},
    )
    assert uploaded.status_code == 200, uploaded.text
    row = uploaded.json()
    assert row["image_url"].endswith(".png") and row["thumbnail_url"].endswith(".webp")
    for url in (row["image_url"], row["thumbnail_url"]):
        served = admin.http.get(url)
        assert served.status_code == 200
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(admin.http.get(row["thumbnail_url"]).content)).size == (400, 300)
    listed = admin.http.get(f"/api/products/{product['id']}").json()
    assert listed["image_url"] == row["image_url"]


def test_operations_endpoints(sqlite_server: LiveServer) -> None:
    http = httpx.Client(base_url=sqlite_server.url)
    assert http.get("/livez").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["status"] == "ok" and ready["tiers"]["migrations"]["ok"]
    assert ready["tiers"]["cache"]["detail"] == "memory, invalidations listening"
    http.get("/api/products")
    http.get("/api/products")
    metrics = http.get("/metrics").text
    for series in (
        "cloudmall_http_request_duration_seconds_bucket",
        'cloudmall_cache_requests_total{kind="list",result="hit"}',
        "cloudmall_orders_placed_total",
        "cloudmall_stock_outs_total",
    ):
        assert series in metrics
    listed = http.get("/api/products")
    again = http.get("/api/products", headers={"If-None-Match": listed.headers["etag"]})
    assert again.status_code == 304
    assert "nosniff" in listed.headers["x-content-type-options"]
    assert http.get("/docs").status_code == 200
    assert "/api/orders" in http.get("/openapi.json").json()["paths"]


def _same_every_time(headers: httpx.Headers) -> list[tuple[str, str]]:
    """An answer's headers but the ones that differ per answer (its id, the date)."""
    return sorted((k, v) for k, v in headers.multi_items() if k not in ("x-request-id", "date"))


def test_the_fast_path_answers_exactly_like_the_full_path(sqlite_server: LiveServer) -> None:
    http = httpx.Client(base_url=sqlite_server.url)
    url = "/api/products?limit=7&sort=price"
    etag = '"0123456789abcdef01234567"'  # an ETag this list does not have
    first = http.get(url)  # through routing; teaches the fast path this URL
    seen = {"full": first}
    for round_ in range(3):  # the fast path's headers are made once per answer: still whole
        seen[f"fast {round_}"] = http.get(url)
        seen[f"fast {round_}, another ETag"] = http.get(url, headers={"If-None-Match": etag})
    for name, answer in seen.items():
        assert answer.status_code == 200, name
        assert answer.content == first.content, name
        assert _same_every_time(answer.headers) == _same_every_time(first.headers), name
        assert answer.headers["x-request-id"] != first.headers["x-request-id"] or answer is first
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["x-total-count"]
    # 304, on a URL of the same list the fast path has not seen yet: first the full path's
    # answer, then the fast path's
    same_list = "/api/products?sort=price&limit=7"
    revalidations = [
        http.get(same_list, headers={"If-None-Match": first.headers["etag"]}) for _ in range(3)
    ]
    for answer in revalidations:
        assert answer.status_code == 304 and answer.content == b""
        assert answer.headers["etag"] == first.headers["etag"]
    assert _same_every_time(revalidations[1].headers) == _same_every_time(revalidations[0].headers)
    assert _same_every_time(revalidations[2].headers) == _same_every_time(revalidations[0].headers)
