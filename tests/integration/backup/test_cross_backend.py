"""A SQLite backup restored into MariaDB and PostgreSQL with the CLI, then the real server runs
on the restored database: products listed, a restored customer and the admin log in, and a new
order gets a fresh id (sequences and auto-increment counters were moved on)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest

from tests.conftest import shop_env
from tests.e2e.client import log_in_admin
from tests.integration.backup.shop import CUSTOMER_EMAIL, CUSTOMER_PASSWORD, fill
from tests.support import (
    ADDRESS,
    BACKENDS,
    SHIPMENT,
    card,
    cli,
    scratch_database,
    start_server,
    stop_server,
)

TARGETS = [backend for backend in ("mariadb", "postgresql") if backend in BACKENDS]


@pytest.mark.e2e
@pytest.mark.parametrize("target", TARGETS)
def test_sqlite_backup_serves_from_another_backend(target: str, tmp_path: Path) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    facts = fill(source_url, n_orders=1_000)
    store = f"file://{tmp_path / 'store'}"

    made = cli(
        shop_env(source_url, tmp_path, CLOUDMALL_STORAGE_URL=store), tmp_path, "backup", "create"
    )
    assert made.returncode == 0, made.stderr
    found = re.search(r"backup (\S+) complete", made.stdout)
    assert found, made.stdout
    backup_id = found.group(1)

    (tmp_path / "target").mkdir()
    with scratch_database(target, tmp_path / "target") as target_url:
        env = shop_env(target_url, tmp_path, CLOUDMALL_STORAGE_URL=store)
        restored = cli(env, tmp_path, "backup", "restore", backup_id)
        assert restored.returncode == 0, restored.stderr
        assert "checksums match" in restored.stdout and "1000 orders" in restored.stdout
        assert "Traceback" not in restored.stderr

        server = start_server(env, tmp_path)  # creates the admin: a new user, a fresh id
        try:
            http = httpx.Client(base_url=server.url, timeout=30)
            listed = http.get("/api/products", params={"limit": 100})
            assert listed.status_code == 200, listed.text
            names = {row["name"] for row in listed.json()}
            assert '상품 1 — "quoted" \\ back\\slash' in names
            assert int(listed.headers["X-Total-Count"]) == len(
                [p for p in range(1, facts.products + 1) if p % 7 != 0]
            )

            login = http.post(
                "/api/auth/login", json={"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD}
            )
            assert login.status_code == 200, login.text
            assert login.json()["user"]["id"] == 1
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            mine = http.get("/api/orders", headers=auth, params={"limit": 100})
            assert mine.status_code == 200 and len(mine.json()) > 0

            placed = http.post(
                "/api/orders",
                json={"items": [{"productId": 1, "quantity": 2}], "address": ADDRESS},
                headers={**auth, "Idempotency-Key": secrets.token_hex(8)},
            )
            assert placed.status_code == 201, placed.text
            assert placed.json()["orderId"] == facts.max_ids["orders"] + 1

            admin = log_in_admin(server)
            assert admin.user["id"] == facts.max_ids["users"] + 1
            shipped = admin.post(
                f"/api/admin/orders/{placed.json()['orderId']}/ship", json=SHIPMENT
            )
            assert shipped.status_code == 409  # pending orders are paid before they ship
            paid = http.post(
                f"/api/orders/{placed.json()['orderId']}/pay",
                json=card("4242 4242 4242 4242"),
                headers=auth,
            )
            assert paid.status_code == 200, paid.text
            assert paid.json()["payment"]["id"] == facts.max_ids["payments"] + 1
        finally:
            stop_server(server)
