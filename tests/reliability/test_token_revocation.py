"""Role and password changes apply to the very next request of every token already issued."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import shop_env
from tests.e2e.client import Shopper, log_in_admin, sign_up
from tests.support import LiveServer, cli, scratch_database, start_server, stop_server

NEW_PASSWORD = "a brand new passphrase, never used"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path: Path = tmp_path_factory.mktemp("revocation")
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path), tmp_path)
        try:
            yield live
        finally:
            stop_server(live)


def set_role(admin: Shopper, user: Shopper, role: str) -> None:
    answer = admin.put(f"/api/admin/users/{user.user['id']}/role", json={"role": role})
    assert answer.status_code == 200 and answer.json()["role"] == role, answer.text


def test_a_demoted_staff_members_next_staff_request_gets_403(server: LiveServer) -> None:
    admin = log_in_admin(server)
    staffer = sign_up(server, "Staffer")
    assert staffer.get("/api/admin/orders").status_code == 403
    set_role(admin, staffer, "admin")
    assert staffer.get("/api/admin/orders").status_code == 200  # the same token, promoted
    set_role(admin, staffer, "customer")
    demoted = staffer.get("/api/admin/orders")
    assert demoted.status_code == 403, demoted.text  # the very next request
    assert demoted.json()["error"]["code"] == "permission_denied"
    assert staffer.get("/api/auth/me").json()["role"] == "customer"  # still a customer


def test_a_demotion_from_another_process_applies_within_the_cache_time(
    server: LiveServer, tmp_path: Path
) -> None:
    admin = log_in_admin(server)
    staffer = sign_up(server, "Staffer")
    set_role(admin, staffer, "admin")
    assert staffer.get("/api/admin/orders").status_code == 200
    demoted = cli(server.env, tmp_path, "admin", "demote", staffer.user["email"])
    assert demoted.returncode == 0, demoted.stderr
    deadline = time.monotonic() + 5  # CLOUDMALL_AUTH_CACHE_SECONDS: 2 by default, 5 at most
    while staffer.get("/api/admin/orders").status_code == 200:
        assert time.monotonic() < deadline, "still staff 5 s after the demotion"
        time.sleep(0.2)
    assert staffer.get("/api/admin/orders").status_code == 403


def test_a_password_change_ends_every_older_token(server: LiveServer) -> None:
    shopper = sign_up(server, "Changer")
    other_device = Shopper(http=shopper.http, token=shopper.token, user=shopper.user)
    wrong = shopper.post(
        "/api/auth/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 403
    weak = shopper.post(
        "/api/auth/password",
        json={"current_password": "a long enough passphrase", "new_password": "aaaaaaaaaaaa"},
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "password_rejected"
    assert shopper.get("/api/auth/me").status_code == 200  # refusals changed nothing
    changed = shopper.post(
        "/api/auth/password",
        json={"current_password": "a long enough passphrase", "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    stale = other_device.get("/api/auth/me")
    assert stale.status_code == 401, stale.text
    assert stale.json()["error"]["code"] == "authentication_failed"
    fresh = Shopper(http=shopper.http, token=changed.json()["access_token"], user=shopper.user)
    assert fresh.get("/api/auth/me").status_code == 200
    email = shopper.user["email"]
    old = shopper.http.post(
        "/api/auth/login", json={"email": email, "password": "a long enough passphrase"}
    )
    assert old.status_code == 401
    new = shopper.http.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert new.status_code == 200
