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
from typer.testing import CliRunner

from cloudmall.bootstrap import ensure_database
from cloudmall.cli import app
from tests.support import MARIADB_URL, POSTGRES_URL, free_port

SERVERS = {"mariadb": MARIADB_URL, "postgresql": POSTGRES_URL}


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(the server's URL as `services run` takes it, a fresh database name), dropped after."""
    admin_url = SERVERS[str(request.param)]
    name = f"cm_svc_{secrets.token_hex(4)}"
    plain = make_url(admin_url).set(
        drivername="mysql" if request.param == "mariadb" else "postgresql"
    )
    yield plain.render_as_string(hide_password=False), name
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        force = " WITH (FORCE)" if request.param == "postgresql" else ""
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
    engine.dispose()


def test_a_database_is_created_once_and_named_by_its_url(server: tuple[str, str]) -> None:
    server_url, name = server
    first = asyncio.run(ensure_database(server_url, name))
    again = asyncio.run(ensure_database(server_url, name))  # exists: nothing to do
    assert first == again
    assert make_url(first).database == name


def test_a_name_that_is_not_plain_is_refused() -> None:
    with pytest.raises(ValueError, match="plain database name"):
        asyncio.run(ensure_database("postgresql://postgres@127.0.0.1/test", "x; DROP"))


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
