"""Hostile input and access control over HTTP, against a real server process (SQLite defaults)."""

from __future__ import annotations

import base64
import io
import json
import secrets
import time
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from PIL import Image

from tests.conftest import TEST_SECRET_KEY, shop_env
from tests.e2e.client import CONSENT, Shopper, create_product, log_in_admin, sign_up
from tests.support import (
    ADDRESS,
    ADMIN_EMAIL,
    LiveServer,
    Service,
    card,
    scratch_database,
    start_redis,
    start_server,
    stop_server,
)
from tests.topology import running_topology, service_databases

SECRET = TEST_SECRET_KEY
ORIGIN = "https://shop.example.com"


@pytest.fixture(
    scope="module",
    params=[("sqlite", "server"), ("mariadb", "function"), ("mariadb", "services")],
    ids=["sqlite-server", "mariadb-function", "mariadb-services"],
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The server on the embedded defaults, the Lambda handler (local function runtime), and
    the services topology's gateway (four services, a database each)."""
    backend, runtime = request.param
    tmp_path: Path = tmp_path_factory.mktemp(f"security-{backend}-{runtime}")
    if runtime == "services":
        with (
            service_databases(backend, tmp_path) as databases,
            running_topology(
                databases, shop_env("", tmp_path, CLOUDMALL_CORS_ORIGINS=ORIGIN), tmp_path
            ) as topology,
        ):
            yield topology.gateway
        return
    with scratch_database(backend, tmp_path) as url:
        env = shop_env(url, tmp_path, CLOUDMALL_CORS_ORIGINS=ORIGIN)
        live = start_server(env, tmp_path, runtime=runtime)
        try:
            yield live
        finally:
            stop_server(live)


@pytest.fixture(scope="module")
def cast(server: LiveServer) -> tuple[Shopper, Shopper, Shopper]:
    return log_in_admin(server), sign_up(server, "Alice"), sign_up(server, "Bob")


def openapi_routes(server: LiveServer) -> list[tuple[str, str, bool]]:
    """(method, path template, needs staff) for every API operation (behind a gateway, every
    service's; each is then called through the gateway)."""
    routes = []
    for part in server.services.values() or [server]:
        schema = httpx.get(f"{part.url}/openapi.json").json()
        for path, operations in schema["paths"].items():
            for method in operations:
                staff = path.startswith("/api/admin") or (
                    path.startswith("/api/products")
                    and method in ("post", "patch", "delete", "put")
                )
                routes.append((method.upper(), path, staff))
    return routes


def test_customers_get_403_and_strangers_401_on_every_staff_route(
    server: LiveServer, cast: tuple[Shopper, Shopper, Shopper]
) -> None:
    _, alice, _ = cast
    staff_routes = [(m, p) for m, p, staff in openapi_routes(server) if staff]
    assert len(staff_routes) >= 7
    for method, template in staff_routes:
        path = template.replace("{order_id}", "1").replace("{product_id}", "1")
        path = path.replace("{user_id}", "1")
        as_customer = alice.http.request(method, path, headers=alice.headers, json={})
        assert as_customer.status_code == 403, (method, path, as_customer.text)
        anonymous = alice.http.request(method, path, json={})
        assert anonymous.status_code == 401, (method, path, anonymous.text)


def test_another_users_order_looks_missing_on_every_route_with_its_id(
    server: LiveServer, cast: tuple[Shopper, Shopper, Shopper]
) -> None:
    admin, alice, bob = cast
    product = create_product(admin, stock=5)
    mine = alice.post("/api/orders", json={"items": [{"productId": product["id"], "quantity": 1}]})
    order_id = mine.json()["orderId"]
    id_routes = [
        (m, p) for m, p, staff in openapi_routes(server) if "{order_id}" in p and not staff
    ]
    assert len(id_routes) >= 3
    for method, template in id_routes:
        path = template.replace("{order_id}", str(order_id))
        body = {**card(), **ADDRESS}  # a valid body for each route (pay, address)
        answer = bob.http.request(method, path, headers=bob.headers, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    assert all(o["id"] != order_id for o in bob.get("/api/orders").json())
    assert alice.get(f"/api/orders/{order_id}").json()["status"] == "pending"  # untouched


def test_mass_assignment_changes_nothing(
    server: LiveServer, cast: tuple[Shopper, Shopper, Shopper]
) -> None:
    admin, alice, bob = cast
    http = alice.http
    email = f"mass-{secrets.token_hex(4)}@example.com"
    made = http.post(
        "/api/auth/signup",
        json={
            "email": email,
            "password": "a long enough passphrase",
            "name": "M",
            "consent": {"privacy": True, "terms": True},
            "role": "admin",
            "id": 1,
            "is_admin": True,
        },
    )
    assert made.status_code == 201 and made.json()["user"]["role"] == "customer"
    token = made.json()["access_token"]
    assert (
        http.get("/api/admin/orders", headers={"Authorization": f"Bearer {token}"}).status_code
        == 403
    )

    product = create_product(admin, stock=5, price="1000.00")
    order = alice.post(
        "/api/orders",
        json={
            "items": [{"productId": product["id"], "quantity": 1, "unitPrice": "1", "price": "1"}],
            "status": "paid",
            "total": "1",
            "id": 1,
            "orderId": 1,
            "deliveryFee": "0",
            "delivery_fee": "0",
            "shipment": {"carrier": "cj", "tracking_number": "123456"},
        },
    )
    assert order.status_code == 201, order.text
    body = order.json()["order"]
    assert body["status"] == "pending" and body["shipment"] is None
    assert (body["subtotal"], body["delivery_fee"], body["total_amount"]) == (
        "1000.00",
        "3000.00",  # the shop's fee, not the body's
        "4000.00",
    )
    assert body["user_id"] == alice.user["id"] and body["lines"][0]["unit_price"] == "1000.00"
    # The guide's userId names the caller; another user's id is refused.
    other = alice.post("/api/orders", json={"products": [product["id"]], "userId": bob.user["id"]})
    assert other.status_code == 403

    edited = admin.patch(
        f"/api/products/{product['id']}",
        json={"id": 999999, "image_key": "../../etc/passwd", "is_active": False, "created_at": 0},
    )
    assert edited.status_code in (200, 422), edited.text
    after = admin.get(f"/api/products/{product['id']}").json()
    assert after["id"] == product["id"] and after["image_url"] is None
    created = [datetime.fromisoformat(row["created_at"]) for row in (after, product)]
    assert created[0] == created[1]


def forge(claims: dict[str, Any], *, key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def test_bad_tokens_get_401(server: LiveServer, cast: tuple[Shopper, Shopper, Shopper]) -> None:
    _, alice, _ = cast
    now = int(time.time())
    good = {
        "sub": str(alice.user["id"]),
        "role": "admin",  # a forger would ask for staff rights
        "iss": "cloudmall",
        "aud": "cloudmall-api",
        "iat": now,
        "exp": now + 600,
    }

    def b64(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    header, payload, signature = alice.token.split(".")
    tampered_payload = b64(
        {**json.loads(base64.urlsafe_b64decode(payload + "==")), "role": "admin"}
    )
    tokens = {
        "expired": forge({**good, "role": "customer", "iat": now - 7200, "exp": now - 3600}),
        "tampered": f"{header}.{tampered_payload}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(good)}.",
        "wrong key": forge(good, key="another-" + TEST_SECRET_KEY),
        "wrong audience": forge({**good, "aud": "someone-else"}),
        "wrong issuer": forge({**good, "iss": "evil"}),
        "no expiry": forge({k: v for k, v in good.items() if k != "exp"}),
        "HS512 with the key": forge(good, alg="HS512"),
        "garbage": "not.a.token",
    }
    for name, token in tokens.items():
        answer = alice.http.get("/api/admin/orders", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (name, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
    assert alice.get("/api/auth/me").status_code == 200


def test_passwords_argon2id_passphrases_and_common_ones(server: LiveServer) -> None:
    from argon2 import Parameters, extract_parameters
    from sqlalchemy import text

    from tests.reliability.conftest import database

    http = httpx.Client(base_url=server.url, timeout=30)
    passphrase = "correct horse battery staple " * 30  # 870 characters
    email = f"long-{secrets.token_hex(4)}@example.com"
    made = http.post(
        "/api/auth/signup",
        json={"email": email, "password": passphrase, "name": "L", "consent": CONSENT},
    )
    assert made.status_code == 201, made.text
    logged = http.post("/api/auth/login", json={"email": email, "password": passphrase})
    assert logged.status_code == 200
    for common in ("password", "12345678", "qwerty123", "iloveyou", "Password1", "same"):
        other = f"c-{secrets.token_hex(4)}@example.com"
        password = other if common == "same" else common  # the account's own email, too
        refused = http.post(
            "/api/auth/signup",
            json={"email": other, "password": password, "name": "C", "consent": CONSENT},
        )
        assert refused.status_code == 422, (common, refused.text)
    with database(server.env["CLOUDMALL_DATABASE_URL"]) as engine, engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM users WHERE email = :e"), {"e": email}
        ).scalar_one()
    params: Parameters = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2  # OWASP's floor


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, format="PNG")
    return buffer.getvalue()


def decompression_bomb() -> bytes:
    """A valid-looking PNG header claiming 30000×30000 pixels, with a tiny zlib stream."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    raw = zlib.compress(b"\x00" * (30001 * 64), 9)  # only the first rows; it is never decoded
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_hostile_uploads_are_refused_before_processing(
    server: LiveServer, cast: tuple[Shopper, Shopper, Shopper]
) -> None:
    admin, _, _ = cast
    product = create_product(admin, stock=1)
    path = f"/api/products/{product['id']}/image"
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
    )
    cases = {
        "html as png": (b"<!doctype html><script>alert(1)</script>", "image/png", 415),
        "svg": (svg, "image/svg+xml", 415),
        "svg as png": (svg, "image/png", 415),
        "script as jpg": (b"#!/bin/sh\nrm -rf /\n", "image/jpeg", 415),
        "png header then html": (png()[:16] + b"<html><script>x</script>", "image/png", 415),
        "gif (not accepted)": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", 415),
        "empty": (b"", "image/png", 415),
        "oversized": (b"\x89PNG" + b"\x00" * (9 * 1024 * 1024), "image/png", 413),
        "decompression bomb": (decompression_bomb(), "image/png", 413),
    }
    for name, (data, content_type, status) in cases.items():
        answer = admin.put(path, files={"file": (f"{name}.png", data, content_type)})
        assert answer.status_code == status, (name, answer.status_code, answer.text)
        assert answer.json()["error"]["message"]
        assert "Traceback" not in answer.text
    assert admin.get(f"/api/products/{product['id']}").json()["image_url"] is None
    ok = admin.put(path, files={"file": ("fine.png", png(), "image/png")})
    assert ok.status_code == 200


def test_security_headers_cors_and_no_internal_details(
    server: LiveServer, cast: tuple[Shopper, Shopper, Shopper]
) -> None:
    _, alice, _ = cast
    http = alice.http
    answers = {
        "page": http.get("/"),
        "api list": http.get("/api/products"),
        "not found": http.get("/no/such/page"),
        "bad json": http.post(
            "/api/orders",
            content=b"{",
            headers={**alice.headers, "Content-Type": "application/json"},
        ),
        "authenticated": alice.get("/api/auth/me"),
        "unauthenticated": http.get("/api/orders"),
        "method": http.delete("/api/products"),
    }
    for name, answer in answers.items():
        assert answer.headers["strict-transport-security"].startswith("max-age="), name
        assert answer.headers["x-content-type-options"] == "nosniff", name
        assert "traceback" not in answer.text.lower() and "sqlalchemy" not in answer.text.lower()
    page = answers["page"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert answers["authenticated"].headers["cache-control"] == "no-store"

    allowed = http.options(
        "/api/products",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert allowed.headers.get("access-control-allow-origin") == ORIGIN
    for evil in ("https://evil.example.net", "null", ORIGIN + ".evil.net"):
        refused = http.get("/api/products", headers={"Origin": evil})
        assert "access-control-allow-origin" not in refused.headers, evil
        preflight = http.options(
            "/api/orders", headers={"Origin": evil, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers, evil


# --- rate limits, shared by two processes through one Redis ------------------------------------


def test_login_limits_are_shared_across_processes(tmp_path: Path) -> None:
    redis: Service = start_redis()
    try:
        with scratch_database("sqlite", tmp_path) as url:
            env = shop_env(
                url,
                tmp_path,
                CLOUDMALL_CACHE_URL=f"redis://127.0.0.1:{redis.port}/0",
                CLOUDMALL_LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT="5",
                CLOUDMALL_LOGIN_FAILURES_PER_CLIENT="15",
                CLOUDMALL_LOGIN_FAILURES_PER_ACCOUNT="8",
                CLOUDMALL_LOGIN_SLOWDOWN_MAX_SECONDS="1",
                CLOUDMALL_SIGNUPS_PER_CLIENT="4",
            )
            a = start_server(env, tmp_path)
            b = start_server(env, tmp_path)
            try:
                check_shared_limits(a, b)
                # Redis down: limits fail open (logged), log-in still works.
                redis.stop()
                ok = httpx.post(
                    f"{a.url}/api/auth/login",
                    json={"email": ADMIN_EMAIL, "password": "correct-horse-battery-staple"},
                    headers={"X-Forwarded-For": "198.51.100.99"},
                )
                assert ok.status_code == 200, ok.text
                assert "rate limit" in a.log()
            finally:
                stop_server(a)
                stop_server(b)
    finally:
        redis.stop()


def check_shared_limits(a: LiveServer, b: LiveServer) -> None:
    servers = [httpx.Client(base_url=s.url, timeout=30) for s in (a, b)]
    victim = {"email": ADMIN_EMAIL, "password": "wrong password, guessed"}
    owner = {"email": ADMIN_EMAIL, "password": "correct-horse-battery-staple"}

    def log_in(index: int, body: dict[str, str], address: str) -> tuple[int, float]:
        started = time.monotonic()
        answer = servers[index % 2].post(
            "/api/auth/login", json=body, headers={"X-Forwarded-For": address}
        )
        return answer.status_code, time.monotonic() - started

    # One address guessing one account: 5 failures in all, alternating processes, then 429.
    for attempt in range(5):
        assert log_in(attempt, victim, "203.0.113.7")[0] == 401, attempt
    for index in range(2):
        limited = servers[index].post(
            "/api/auth/login", json=victim, headers={"X-Forwarded-For": "203.0.113.7"}
        )
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert limited.json()["error"]["code"] == "rate_limited"
    # The owner, from an address with no failures, is not locked out.
    assert log_in(0, owner, "192.0.2.2")[0] == 200
    # Many addresses guessing the same account: never refused, ever slower (past 8 failures in
    # all, 0.25 s, 0.5 s, then 1 s, the cap set here), shared by both processes.
    guesses = [log_in(i, victim, f"198.51.100.{i + 1}") for i in range(8)]
    assert [status for status, _ in guesses] == [401] * 8
    assert all(seconds >= 1.0 for _, seconds in guesses[-3:]), guesses
    # The owner, from a clean address, still logs in: slowed down like everyone, not locked.
    status, seconds = log_in(1, owner, "192.0.2.3")
    assert status == 200 and seconds >= 1.0
    # Per client: one address spraying many accounts (a success does not count).
    sprayer = {"X-Forwarded-For": "203.0.113.50"}
    statuses = [
        servers[i % 2]
        .post(
            "/api/auth/login",
            json={"email": f"nobody{i}@example.com", "password": "wrong password"},
            headers=sprayer,
        )
        .status_code
        for i in range(17)
    ]
    assert statuses[:15] == [401] * 15 and statuses[15:] == [429, 429], statuses
    # Sign-ups per client address: 4 in the window, across both processes.
    made = [
        servers[i % 2]
        .post(
            "/api/auth/signup",
            json={
                "email": f"s{i}-{secrets.token_hex(3)}@example.com",
                "password": "a long enough passphrase",
                "name": "S",
                "consent": CONSENT,
            },
            headers={"X-Forwarded-For": "198.51.100.5"},
        )
        .status_code
        for i in range(5)
    ]
    assert made == [201, 201, 201, 201, 429], made
