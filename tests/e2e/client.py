"""A small HTTP client for the shop's API, used by the end-to-end tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

#: Sign-up's one field beyond the guide's: consent to the privacy policy and terms of use.
CONSENT = {"privacy": True, "terms": True}


@dataclass
class Shopper:
    http: httpx.Client
    token: str
    user: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.patch(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.put(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.delete(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )


def client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def sign_up(server: LiveServer, name: str = "Tester") -> Shopper:
    http = client(server)
    email = f"shopper-{secrets.token_hex(5)}@Example.com"
    answer = http.post(
        "/api/auth/signup",
        json={
            "email": email,
            "password": "a long enough passphrase",
            "name": name,
            "consent": CONSENT,
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return Shopper(http=http, token=body["access_token"], user=body["user"])


def log_in_admin(server: LiveServer) -> Shopper:
    http = client(server)
    answer = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return Shopper(http=http, token=body["access_token"], user=body["user"])


def create_product(
    admin: Shopper, *, stock: int, price: str = "1000.00", name: str = ""
) -> dict[str, Any]:
    answer = admin.post(
        "/api/products",
        json={
            "name": name or f"Test product {secrets.token_hex(3)}",
            "price": price,
            "description": "made by a test",
            "category": "general",
            "stock_quantity": stock,
        },
    )
    assert answer.status_code == 201, answer.text
    product: dict[str, Any] = answer.json()
    return product
