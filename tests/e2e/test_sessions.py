"""Sessions over HTTP, on every backend and through the function runtime: the refresh cookie's
attributes, rotation, a replayed cookie ending its session, log-out and a password change."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from pathlib import Path

import httpx

from tests.e2e.client import CONSENT, client
from tests.support import LiveServer, cli

PASSWORD = "a long enough passphrase"
COOKIE = "cloudmall_refresh"


def refresh_cookies(answer: httpx.Response) -> dict[str, SimpleCookie]:
    """The answer's refresh cookies by Path (one per route that reads it)."""
    found = {}
    for header in answer.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if COOKIE in cookie:
            found[cookie[COOKIE]["path"]] = cookie
    return found


def refresh_token(answer: httpx.Response) -> str:
    cookies = refresh_cookies(answer)
    values = {cookie[COOKIE].value for cookie in cookies.values()}
    assert len(values) == 1, cookies
    return values.pop()


def sign_up(http: httpx.Client) -> httpx.Response:
    email = f"session-{secrets.token_hex(5)}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "세션", "consent": CONSENT}
    answer = http.post("/api/auth/signup", json=body)
    assert answer.status_code == 201, answer.text
    return answer


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    # Sent by hand: the cookie is Secure, and these tests speak plain HTTP to 127.0.0.1.
    return http.post("/api/auth/refresh", headers={"Cookie": f"{COOKIE}={token}"})


def test_the_refresh_cookie_is_httponly_secure_strict_and_only_for_its_two_routes(
    live_server: LiveServer,
) -> None:
    with client(live_server) as http:
        answer = sign_up(http)
        cookies = refresh_cookies(answer)
        assert set(cookies) == {"/api/auth/refresh", "/api/auth/logout"}
        for cookie in cookies.values():
            morsel = cookie[COOKIE]
            assert morsel["httponly"] and morsel["secure"]
            assert morsel["samesite"].lower() == "strict"
            assert 29 * 86_400 < int(morsel["max-age"]) <= 30 * 86_400  # refresh_token_days
        assert refresh_token(answer) not in answer.text  # never in a body
        logged = http.post(
            "/api/auth/login", json={"email": answer.json()["user"]["email"], "password": PASSWORD}
        )
        assert refresh_token(logged) != refresh_token(answer)  # each log-in its own session


def test_a_refresh_rotates_and_a_replayed_cookie_ends_the_session(
    live_server: LiveServer,
) -> None:
    with client(live_server) as http:
        first = refresh_token(sign_up(http))
        renewed = refresh(http, first)
        assert renewed.status_code == 200, renewed.text
        second = refresh_token(renewed)
        assert second != first
        token = renewed.json()["access_token"]
        me = http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["name"] == "세션"
        replayed = refresh(http, first)  # a copy of the old cookie, used again
        assert replayed.status_code == 401
        assert replayed.json()["error"]["code"] == "authentication_failed"
        assert refresh(http, second).status_code == 401  # the whole session ended
        assert refresh(http, "made-up").status_code == 401
        assert http.post("/api/auth/refresh").status_code == 401  # no cookie at all


def test_log_out_ends_the_session_and_clears_the_cookie(live_server: LiveServer) -> None:
    with client(live_server) as http:
        token = refresh_token(sign_up(http))
        rotated = refresh_token(refresh(http, token))
        out = http.post("/api/auth/logout", headers={"Cookie": f"{COOKIE}={rotated}"})
        assert out.status_code == 204
        cleared = refresh_cookies(out)
        assert set(cleared) == {"/api/auth/refresh", "/api/auth/logout"}
        assert all(int(c[COOKIE]["max-age"]) == 0 for c in cleared.values())
        assert refresh(http, rotated).status_code == 401
        assert http.post("/api/auth/logout").status_code == 204  # nothing to end: still fine


def test_a_password_change_ends_every_session_and_starts_one(live_server: LiveServer) -> None:
    with client(live_server) as http:
        answer = sign_up(http)
        email = answer.json()["user"]["email"]
        phone = refresh_token(answer)
        laptop = refresh_token(
            http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        )
        changed = http.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase 7"},
            headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
        )
        assert changed.status_code == 200, changed.text
        for old in (phone, laptop):
            assert refresh(http, old).status_code == 401
        assert refresh(http, refresh_token(changed)).status_code == 200


def test_profile_and_shop_info(live_server: LiveServer) -> None:
    with client(live_server) as http:
        answer = sign_up(http)
        auth = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        info = http.get("/api/shop/info")
        assert info.status_code == 200
        legal = info.json()["legal"]
        assert info.json()["business"]["registration_number"] == "000-00-00000"
        profile = http.get("/api/account/profile", headers=auth).json()
        assert {(c["document"], c["version"]) for c in profile["consents"]} == {
            ("privacy", legal["privacy_version"]),
            ("terms", legal["terms_version"]),
        }
        changed = http.patch(
            "/api/account/profile", json={"phone": "010-1234-5678", "name": "새 이름"}, headers=auth
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["name"], changed.json()["phone"]) == ("새 이름", "010-1234-5678")
        refused = http.patch("/api/account/profile", json={"phone": "call me"}, headers=auth)
        assert refused.status_code == 422
        assert http.get("/api/account/profile").status_code == 401


def test_sign_up_without_consent_is_refused(live_server: LiveServer) -> None:
    with client(live_server) as http:
        email = f"no-consent-{secrets.token_hex(4)}@example.com"
        for consent in (None, {"privacy": True}, {"privacy": True, "terms": False}):
            body = {"email": email, "password": PASSWORD, "name": "N"}
            if consent is not None:
                body["consent"] = consent
            refused = http.post("/api/auth/signup", json=body)
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["code"] == "consent_required"
        assert "terms" in refused.json()["error"]["details"]["missing"]
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 401  # no account was made


def test_an_initial_password_is_changed_before_anything_else_on_every_service(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """Behind the gateway the products, orders and payments services hold no accounts: the
    token says so, and they refuse as the users service does."""
    email = f"ops-{secrets.token_hex(4)}@example.com"
    made = cli({**live_server.env, "COLUMNS": "400"}, tmp_path, "admin", "create", email)
    assert made.returncode == 0, made.stderr
    initial = made.stdout.split("change it at the first log-in):", 1)[1].split()[0]
    with client(live_server) as http:
        login = http.post("/api/auth/login", json={"email": email, "password": initial})
        assert login.status_code == 200 and login.json()["password_change_required"] is True
        first = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for method, path in (
            ("GET", "/api/auth/me"),  # users
            ("POST", "/api/admin/categories"),  # products
            ("GET", "/api/admin/orders"),  # orders
            ("GET", "/api/orders/1/payments"),  # payments
        ):
            refused = http.request(method, path, headers=first, json={})
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["error"]["code"] == "password_change_required"
        changed = http.post(
            "/api/auth/password",
            json={"current_password": initial, "new_password": "the staff's own passphrase"},
            headers=first,
        )
        assert changed.status_code == 200 and changed.json()["password_change_required"] is False
        now = {"Authorization": f"Bearer {changed.json()['access_token']}"}
        assert http.get("/api/admin/orders", headers=now).status_code == 200
        assert http.get("/api/auth/me", headers=now).status_code == 200
