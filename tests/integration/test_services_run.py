"""`cloudmall services run`'s preparations on real servers: one database per service on MariaDB
and PostgreSQL, and the one-line refusals when what it needs is missing."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cloudmall.bootstrap import ensure_database
from cloudmall.cli import app
from tests.support import MARIADB_URL, POSTGRES_URL, free_port

SERVERS = {"mariadb": MARIADB_URL, "postgresql": POSTGRES_URL}


PASSWORD = secrets.token_hex(16)


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """(the server's URL as `services run` takes it, two fresh database names), each database
    and its user dropped after."""
    admin_url = SERVERS[str(request.param)]
    names = [f"cm_svc_{secrets.token_hex(4)}" for _ in range(2)]
    plain = make_url(admin_url).set(
        drivername="mysql" if request.param == "mariadb" else "postgresql"
    )
    yield plain.render_as_string(hide_password=False), *names  # type: ignore[misc]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in names:
            if request.param == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                conn.execute(text(f"DROP ROLE IF EXISTS {name}"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(text(f"DROP USER IF EXISTS '{name}'@'%'"))
    engine.dispose()


def test_a_database_is_created_once_with_its_own_user(server: tuple[str, str, str]) -> None:
    server_url, name, _ = server
    first = asyncio.run(ensure_database(server_url, name, password=PASSWORD))
    again = asyncio.run(ensure_database(server_url, name, password=PASSWORD))  # nothing new
    assert first == again
    url = make_url(first)
    assert (url.database, url.username, url.password) == (name, name, PASSWORD)
    engine = create_engine(url.set(drivername=sync_driver(url.get_backend_name())))
    try:
        with engine.begin() as conn:  # its user may make tables in it (migrations do)
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
            assert conn.execute(text("SELECT x FROM probe")).scalar() == 1
    finally:
        engine.dispose()


def test_a_services_user_cannot_open_another_services_database(
    server: tuple[str, str, str],
) -> None:
    server_url, mine, theirs = server
    own = make_url(asyncio.run(ensure_database(server_url, mine, password=PASSWORD)))
    asyncio.run(ensure_database(server_url, theirs, password=secrets.token_hex(16)))
    engine = create_engine(own.set(drivername=sync_driver(own.get_backend_name()), database=theirs))
    try:
        with pytest.raises(DBAPIError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def sync_driver(backend: str) -> str:
    return "postgresql+psycopg" if backend == "postgresql" else "mysql+pymysql"


def test_a_name_that_is_not_plain_is_refused() -> None:
    with pytest.raises(ValueError, match="plain database name"):
        asyncio.run(
            ensure_database("postgresql://postgres@127.0.0.1/test", "x; DROP", password=PASSWORD)
        )


def test_without_nginx_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    answer = CliRunner().invoke(app, ["services", "run", "--var-dir", str(tmp_path)])
    assert answer.exit_code == 1
    assert "nginx is not installed" in answer.output


def test_a_database_server_that_does_not_answer_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "CLOUDMALL_SERVICES_DATABASE", f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    )
    answer = CliRunner().invoke(
        app,
        [
            "services",
            "run",
            "--var-dir",
            str(tmp_path),
            "--port",
            str(free_port()),
            "--first-port",
            str(free_port()),
        ],
    )
    assert answer.exit_code == 1
    assert "CLOUDMALL_SERVICES_DATABASE" in answer.output
    assert len(answer.output.strip().splitlines()) == 1


def test_the_gateway_config_is_one_nginx_accepts(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    answer = CliRunner().invoke(
        app,
        [
            "gateway",
            "config",
            "-s",
            "users=127.0.0.1:8101",
            "-s",
            "products=127.0.0.1:8102",
            "-s",
            "orders=127.0.0.1:8103",
            "-s",
            "payments=http://127.0.0.1:8104/",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--prefix",
            str(tmp_path),
            "--output",
            str(conf),
        ],
    )
    assert answer.exit_code == 0, answer.output
    assert "server 127.0.0.1:8104 max_fails=0;" in conf.read_text()
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_gateway_config_needs_every_service() -> None:
    answer = CliRunner().invoke(app, ["gateway", "config", "-s", "users=127.0.0.1:8101"])
    assert answer.exit_code == 1
    assert "no address for the products, orders, payments service" in answer.output
