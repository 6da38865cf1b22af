"""Access tokens between processes, through the real app on one SQLite database: a process with
the private key issues, one configured with public keys alone accepts its tokens but mints none
and answers for no log-in, a rotation runs two keys side by side, and a switch from HS256 keeps
the session (the refresh cookie brings a new token)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloudmall.bootstrap import migrate, new_signing_key
from cloudmall.config import Settings
from cloudmall.serverless.routes import CATALOGUE, ORDERS
from cloudmall.web.app import create_app
from tests.e2e.client import CONSENT

PASSWORD = "a long enough passphrase"
SECRET = "services-" + "0123456789abcdef" * 4


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'shop.db').as_posix()}"
    asyncio.run(migrate(Settings(database_url=url, var_dir=tmp_path, secret_key=SECRET)))
    return url


@contextmanager
def app(
    database_url: str,
    var_dir: Path,
    only_routes: Iterable[tuple[str, str]] | None = None,
    **tokens: str,
) -> Iterator[TestClient]:
    """One process of the shop (its own var folder: nothing shared but the database)."""
    settings = Settings(
        environment="test",
        database_url=database_url,
        var_dir=var_dir,
        secret_key=SECRET,
        **tokens,  # type: ignore[arg-type]
    )
    # https: the refresh cookie is Secure
    with TestClient(
        create_app(settings, only_routes=only_routes), base_url="https://testserver"
    ) as client:
        yield client


def sign_up(client: TestClient, email: str) -> str:
    answer = client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "name": "Kim", "consent": CONSENT},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_verifying_process_accepts_the_issuers_tokens_and_mints_none(
    database_url: str, tmp_path: Path
) -> None:
    private, public = new_signing_key()
    other_private, _ = new_signing_key()
    users = app(database_url, tmp_path / "users", token_signing_key=private)
    # The catalogue and orders functions' routes: what a service that only verifies answers.
    orders = app(
        database_url,
        tmp_path / "orders",
        only_routes=CATALOGUE | ORDERS,
        token_verify_keys=public.pem(),
    )
    stranger = app(database_url, tmp_path / "stranger", token_signing_key=other_private)
    with users as issuing, orders as verifying, stranger as forging:
        token = sign_up(issuing, "kim@example.com")
        assert verifying.get("/api/orders", headers=bearer(token)).json() == []
        staff_only = verifying.get("/api/admin/orders", headers=bearer(token))
        assert staff_only.status_code == 403  # verified, and the role is the database's
        assert "token_issuer" not in verifying.app.state.shop.tiers  # type: ignore[attr-defined]
        assert "token_issuer" in issuing.app.state.shop.tiers  # type: ignore[attr-defined]
        refused = verifying.post(
            "/api/auth/login", json={"email": "kim@example.com", "password": PASSWORD}
        )
        assert refused.status_code == 404 and "access_token" not in refused.text

        forged = sign_up(forging, "lee@example.com")  # a real account, another key
        answer = verifying.get("/api/orders", headers=bearer(forged))
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "authentication_failed"

        published = issuing.get("/.well-known/jwks.json")
        assert published.headers["cache-control"] == "public, max-age=300"
        assert [key["kid"] for key in published.json()["keys"]] == [public.kid]


def test_a_rotation_verifies_old_and_new_tokens_until_the_old_key_is_dropped(
    database_url: str, tmp_path: Path
) -> None:
    old_private, old = new_signing_key()
    new_private, new = new_signing_key()
    with app(database_url, tmp_path / "before", token_signing_key=old_private) as before:
        old_token = sign_up(before, "kim@example.com")
    rotating = app(
        database_url, tmp_path / "after", token_signing_key=new_private, token_verify_keys=old.pem()
    )
    with rotating as after:
        new_token = sign_up(after, "lee@example.com")
        for token in (old_token, new_token):
            assert after.get("/api/auth/me", headers=bearer(token)).status_code == 200
        keys = after.get("/.well-known/jwks.json").json()["keys"]
        assert [key["kid"] for key in keys] == [new.kid, old.kid]
    with app(database_url, tmp_path / "later", token_signing_key=new_private) as later:
        assert later.get("/api/auth/me", headers=bearer(new_token)).status_code == 200
        assert later.get("/api/auth/me", headers=bearer(old_token)).status_code == 401


def test_a_switch_from_hs256_keeps_the_session(database_url: str, tmp_path: Path) -> None:
    """Access tokens from before the switch are refused; the refresh cookie, opaque and kept in
    the database, brings a new one (what the storefront does on a 401)."""
    private, _ = new_signing_key()
    with app(database_url, tmp_path / "hs256", token_algorithm="HS256") as before:
        hs256_token = sign_up(before, "kim@example.com")
        cookies = list(before.cookies.jar)  # the refresh cookie, once per session path
    with app(database_url, tmp_path / "eddsa", token_signing_key=private) as after:
        assert after.get("/api/auth/me", headers=bearer(hs256_token)).status_code == 401
        for cookie in cookies:
            after.cookies.jar.set_cookie(cookie)
        renewed = after.post("/api/auth/refresh")
        assert renewed.status_code == 200, renewed.text
        token = renewed.json()["access_token"]
        me = after.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200 and me.json()["email"] == "kim@example.com"
