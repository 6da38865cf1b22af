"""A container frozen between invocations, whose database connection died meanwhile."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cloudmall.adapters.db import engine as engine_module
from tests.integration.serverless.conftest import MakeFunction
from tests.integration.serverless.events import event, invoke, json_of
from tests.support import MARIADB_URL


@pytest.fixture
def backend() -> str:
    return "mariadb"  # a connection the server can kill


def kill_connections_to(database: str) -> list[int]:
    """KILL every connection using `database` (as a NAT or the proxy dropping it would)."""
    admin = create_engine(MARIADB_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ids = [
                int(row[0])
                for row in conn.execute(
                    text("SELECT id FROM information_schema.processlist WHERE db = :db"),
                    {"db": database},
                )
            ]
            for session in ids:
                conn.execute(text(f"KILL CONNECTION {session}"))
        return ids
    finally:
        admin.dispose()


def test_a_thawed_container_reconnects_within_the_request(
    make_function: MakeFunction, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = make_function("catalogue")
    assert invoke(function, event("GET", "/api/categories"))["statusCode"] == 200
    killed = kill_connections_to(str(make_url(database_url).database))
    assert killed, "the function kept no connection open between invocations"
    # Frozen a while: longer than the pool's alive-bypass window, so the next checkout pings.
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    time.sleep(0.1)
    answer = invoke(function, event("GET", "/api/products", query="limit=5"))
    assert answer["statusCode"] == 200, answer
    assert json_of(answer) == []
    again = kill_connections_to(str(make_url(database_url).database))
    assert again and not set(again) & set(killed)  # served on a new connection
