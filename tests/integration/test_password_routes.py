"""The password routes through the real app on SQLite and on DynamoDB: a reset request never
tells who has an account, a reset link's token works once with a clear code for every refusal,
an initial password locks the account out of everything but its change, and the server's own
mail reader writes the mails into var/mail."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloudmall.bootstrap import migrate
from cloudmall.config import Settings
from cloudmall.services.commands import MakeAdmin
from cloudmall.services.shop import Shop
from cloudmall.web.app import create_app
from tests.e2e.client import CONSENT
from tests.support import S3_ENV, Service, new_table_url

PASSWORD = "a long enough passphrase"


@pytest.fixture(params=["sqlite", "dynamodb"])
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    dynamodb: Service,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    database: dict[str, str] = {}
    if request.param == "dynamodb":
        for name, value in S3_ENV.items():
            monkeypatch.setenv(name, value)
        database["database_url"] = new_table_url(dynamodb)
    return Settings(
        **database,
        environment="test",
        var_dir=tmp_path,
        secret_key="routes-" + "0123456789abcdef" * 4,
        password_resets_per_client=4,
        mail_poll_seconds=0.1,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    asyncio.run(migrate(settings))
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as client:
        yield client


def shop(client: TestClient) -> Shop:
    found: Shop = client.app.state.shop  # type: ignore[attr-defined]
    return found


def sign_up(client: TestClient, email: str, language: str = "ko") -> dict[str, str]:
    answer = client.post(
        "/api/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "name": "Kim",
            "language": language,
            "consent": CONSENT,
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["user"]["language"] == language
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def mails(folder: Path, to: str, count: int, timeout: float = 10) -> list[EmailMessage]:
    """The .eml files for `to` in the mail folder, once there are `count` (in no particular
    order: a file's mtime is as coarse as the kernel's clock tick, and one batch's mails are
    written within a tick)."""
    deadline = time.monotonic() + timeout
    while True:
        paths = sorted(folder.glob("*.eml"))
        read = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]
        found = [m for m in read if isinstance(m, EmailMessage) and m["To"] == to]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_reset_answers_202_for_anyone_and_is_limited_per_client(
    client: TestClient, settings: Settings
) -> None:
    sign_up(client, "kim@example.com", language="en")
    for email in ("kim@example.com", "nobody@example.com", "KIM@example.com", "x@example.com"):
        answer = client.post("/api/auth/password-reset", json={"email": email})
        assert (answer.status_code, answer.json()) == (202, {"status": "accepted"})
    refused = client.post("/api/auth/password-reset", json={"email": "kim@example.com"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert settings.mail_dir is not None
    subjects = Counter(m["Subject"] for m in mails(settings.mail_dir, "kim@example.com", 3))
    assert subjects == {"Welcome to cloudmall": 1, "Reset your cloudmall password": 2}


def test_a_reset_link_works_once(client: TestClient) -> None:
    old = sign_up(client, "kim@example.com")
    user = client.get("/api/auth/me", headers=old).json()
    tokens = shop(client).tiers["reset_tokens"]
    user_row = asyncio.run(_user(client, user["id"]))
    token = tokens.issue(user_row)  # type: ignore[attr-defined]

    weak = client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "newPassword": "password"}
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "password_rejected"
    done = client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "newPassword": "new " + PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert client.get("/api/auth/me", headers=old).status_code == 401  # old sessions ended
    fresh = {"Authorization": f"Bearer {done.json()['access_token']}"}
    assert client.get("/api/auth/me", headers=fresh).status_code == 200
    for token_sent, code in (
        (token, "reset_link_used"),
        (token[:-4] + "AAAA", "reset_link_invalid"),
    ):
        again = client.post(
            "/api/auth/password-reset/confirm",
            json={"token": token_sent, "newPassword": "third " + PASSWORD},
        )
        assert (again.status_code, again.json()["error"]["code"]) == (422, code)


async def _user(client: TestClient, user_id: int) -> object:
    async with shop(client).tiers["uow"]() as tx:  # type: ignore[operator]
        return await tx.users.get(user_id)


def test_an_initial_password_opens_only_its_change(client: TestClient) -> None:
    portal = client.portal
    assert portal is not None
    portal.call(
        shop(client).handle,
        MakeAdmin("ops@example.com", "printed-once-1234", "Ops", temporary=True),
    )
    login = client.post(
        "/api/auth/login", json={"email": "ops@example.com", "password": "printed-once-1234"}
    )
    assert login.status_code == 200 and login.json()["password_change_required"] is True
    first = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for method, path in (
        ("GET", "/api/auth/me"),
        ("GET", "/api/admin/orders"),
        ("GET", "/api/orders"),
    ):
        refused = client.request(method, path, headers=first)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "password_change_required"
    changed = client.post(
        "/api/auth/password",
        headers=first,
        json={
            "current_password": "printed-once-1234",
            "new_password": "the staff's own passphrase",
        },
    )
    assert changed.status_code == 200 and changed.json()["password_change_required"] is False
    now = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/admin/orders", headers=now).status_code == 200
