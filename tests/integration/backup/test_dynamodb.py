"""`cloudmall backup` between SQL and DynamoDB (moto's server), through the CLI.

A SQL shop with a row in every table is backed up, restored into a table, backed up from the
table, restored into a new SQL database and backed up again: the three backups hold the same
bytes for every table (the part files and the content checksums are equal; only the manifest's
id, times and backend differ). The restored table then serves the HTTP API, its id counters past
the restored ids, and what the server wrote comes back into SQL too.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path

import httpx
import orjson
import pytest

from cloudmall.adapters.db.snapshot import table_specs
from tests.conftest import shop_env
from tests.e2e.client import log_in_admin
from tests.integration.backup.shop import (
    CUSTOMER_EMAIL,
    CUSTOMER_PASSWORD,
    fill,
    fill_the_rest,
)
from tests.support import (
    ADDRESS,
    BACKENDS,
    S3_ENV,
    Service,
    card,
    cli,
    new_table_url,
    scratch_database,
    start_server,
    stop_server,
)

SOURCES = [backend for backend in ("sqlite", "mariadb") if backend in BACKENDS]


def _backup(env: dict[str, str], tmp_path: Path) -> str:
    made = cli(env, tmp_path, "backup", "create")
    assert made.returncode == 0, made.stderr
    found = re.search(r"backup (\S+) complete", made.stdout)
    assert found, made.stdout
    return found.group(1)


def _restore(env: dict[str, str], tmp_path: Path, backup_id: str, target: str) -> str:
    restored = cli(env, tmp_path, "backup", "restore", backup_id, "--to", target)
    assert restored.returncode == 0, restored.stderr
    assert "checksums match" in restored.stdout, restored.stdout
    return restored.stdout


def _tables(store: Path, backup_id: str) -> dict[str, tuple[str, list[str]]]:
    """Each table's content checksum and its parts' SHA-256, from the manifest."""
    manifest = orjson.loads((store / "backups" / backup_id / "manifest.json").read_bytes())
    return {
        table["name"]: (table["content_sha256"], [part["sha256"] for part in table["parts"]])
        for table in manifest["tables"]
    }


@pytest.mark.e2e
@pytest.mark.parametrize("source", SOURCES)
def test_sql_shop_round_trips_through_dynamodb(
    source: str, dynamodb: Service, tmp_path: Path
) -> None:
    store_dir = tmp_path / "store"
    store = {"CLOUDMALL_STORAGE_URL": f"file://{store_dir}", **S3_ENV}
    table_url = new_table_url(dynamodb)
    (tmp_path / "source").mkdir()
    (tmp_path / "again").mkdir()
    with (
        scratch_database(source, tmp_path / "source") as source_url,
        scratch_database(source, tmp_path / "again") as again_url,
    ):
        # (a DynamoDB table holds no stock reservations yet: the DynamoDB adapter's to add)
        facts = fill(source_url, n_users=30, n_products=30, n_orders=300, reservations=False)
        asyncio.run(fill_the_rest(source_url, facts))
        from_sql = _backup(shop_env(source_url, tmp_path, **store), tmp_path)
        sql_tables = _tables(store_dir, from_sql)
        assert all(checksum for checksum, _ in sql_tables.values())
        assert {name for name, (_, parts) in sql_tables.items() if parts} == {
            spec.name for spec in table_specs()
        }, "every table has rows"

        table_env = shop_env(table_url, tmp_path, **store)
        said = _restore(table_env, tmp_path, from_sql, table_url)
        assert "300 orders" in said and "(" + source + ")" in said

        again = cli(table_env, tmp_path, "backup", "restore", from_sql, "--to", table_url)
        assert again.returncode == 1 and "not empty" in again.stderr, again.stderr
        assert "Traceback" not in again.stderr and len(again.stderr.strip().splitlines()) == 1

        from_table = _backup(table_env, tmp_path)
        assert _tables(store_dir, from_table) == sql_tables  # every row equal, byte for byte
        _restore(table_env, tmp_path, from_table, again_url)
        back_in_sql = _backup(shop_env(again_url, tmp_path, **store), tmp_path)
        assert _tables(store_dir, back_in_sql) == sql_tables

        server = start_server(table_env, tmp_path)  # creates the admin: a new user, a fresh id
        try:
            http = httpx.Client(base_url=server.url, timeout=30)
            listed = http.get("/api/products", params={"limit": 100})
            assert listed.status_code == 200, listed.text
            on_sale = [p for p in range(1, facts.products + 1) if p % 7 != 0]
            assert int(listed.headers["X-Total-Count"]) == len(on_sale)
            login = http.post(
                "/api/auth/login", json={"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD}
            )
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            mine = http.get("/api/orders", headers=auth, params={"limit": 100})
            assert mine.status_code == 200 and len(mine.json()) > 0
            book = http.get("/api/account/addresses", headers=auth)
            assert book.status_code == 200 and [a["id"] for a in book.json()] == [1], book.text

            placed = http.post(
                "/api/orders",
                json={"items": [{"productId": 1, "quantity": 2}], "address": ADDRESS},
                headers={**auth, "Idempotency-Key": secrets.token_hex(8)},
            )
            assert placed.status_code == 201, placed.text
            assert placed.json()["orderId"] == facts.max_ids["orders"] + 1
            paid = http.post(
                f"/api/orders/{placed.json()['orderId']}/pay", json=card(), headers=auth
            )
            assert paid.status_code == 200, paid.text
            assert paid.json()["payment"]["id"] > facts.max_ids["payments"] + 20  # + refunds
            admin = log_in_admin(server)
            assert admin.user["id"] == facts.max_ids["users"] + 1
        finally:
            stop_server(server)

        # What the server wrote on the table (an order and its line, a payment, keys, sessions,
        # events) comes back into SQL, row for row.
        served = _backup(table_env, tmp_path)
        (tmp_path / "last").mkdir()
        with scratch_database(source, tmp_path / "last") as last_url:
            said = _restore(table_env, tmp_path, served, last_url)
            assert "301 orders" in said
