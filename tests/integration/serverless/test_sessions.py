"""Sessions through the accounts function: API Gateway payload 2.0 carries the request's cookies
in `cookies` and the answer's Set-Cookie headers in `cookies` (one entry each)."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import Any

from tests.e2e.client import CONSENT
from tests.integration.serverless.conftest import MakeFunction
from tests.integration.serverless.events import event, invoke, json_of

COOKIE = "cloudmall_refresh"


def refresh_cookies(answer: dict[str, Any]) -> dict[str, str]:
    """The answer's refresh cookie value by Path."""
    found = {}
    for header in answer.get("cookies", []):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if COOKIE in cookie:
            morsel = cookie[COOKIE]
            assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "strict"
            found[morsel["path"]] = morsel.value
    assert "set-cookie" not in {name.lower() for name in answer["headers"]}
    return found


def test_sign_up_refresh_and_log_out_through_the_accounts_function(
    make_function: MakeFunction,
) -> None:
    accounts = make_function("accounts")
    body = {
        "email": f"fn-{secrets.token_hex(4)}@example.com",
        "password": "a long enough passphrase",
        "name": "Kim",
        "consent": CONSENT,
    }
    signed = invoke(accounts, event("POST", "/api/auth/signup", body=body))
    assert signed["statusCode"] == 201, signed
    cookies = refresh_cookies(signed)
    assert set(cookies) == {"/api/auth/refresh", "/api/auth/logout"}
    token = cookies["/api/auth/refresh"]
    sent = [f"{COOKIE}={token}", "theme=dark"]  # a browser sends every cookie of the path
    renewed = invoke(accounts, event("POST", "/api/auth/refresh", cookies=sent))
    assert renewed["statusCode"] == 200, renewed
    assert json_of(renewed)["user"]["email"] == body["email"]
    rotated = refresh_cookies(renewed)["/api/auth/refresh"]
    assert rotated != token
    out = invoke(accounts, event("POST", "/api/auth/logout", cookies=[f"{COOKIE}={rotated}"]))
    assert out["statusCode"] == 204
    assert set(refresh_cookies(out)) == {"/api/auth/refresh", "/api/auth/logout"}
    again = invoke(accounts, event("POST", "/api/auth/refresh", cookies=[f"{COOKIE}={rotated}"]))
    assert again["statusCode"] == 401


def test_shop_info_is_the_catalogue_functions(make_function: MakeFunction) -> None:
    catalogue = make_function("catalogue")
    answer = invoke(catalogue, event("GET", "/api/shop/info"))
    assert answer["statusCode"] == 200
    assert json_of(answer)["legal"]["terms_version"]
    accounts = make_function("accounts")
    assert invoke(accounts, event("GET", "/api/shop/info"))["statusCode"] == 404
