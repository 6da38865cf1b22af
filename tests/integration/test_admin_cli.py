"""`cloudmall admin create | reset-password`: a password the shop makes up is printed once and
must be changed at the first log-in; one the operator chose is kept as given."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudmall.cli import app
from cloudmall.config import Settings
from cloudmall.services.commands import LogIn
from cloudmall.web.app import build_web_shop
from tests.conftest import TEST_SECRET_KEY

ONE_TIME = re.compile(r"one-time password .*: (\S+)")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The shop's settings, for the command and for this test's own look at the accounts."""
    settings = {
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_VAR_DIR": str(tmp_path),
        "CLOUDMALL_SECRET_KEY": TEST_SECRET_KEY,
        "COLUMNS": "200",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def cloudmall(env: dict[str, str], *args: str) -> str:
    answer = CliRunner().invoke(app, list(args), env=env)
    assert answer.exit_code == 0, answer.output
    return answer.output


def must_change(email: str, password: str) -> bool:
    async def log_in() -> bool:
        shop = build_web_shop(Settings())
        try:
            return (await shop.handle(LogIn(email, password, "test"))).password_change_required
        finally:
            await shop.aclose()

    return asyncio.run(log_in())


def test_one_time_passwords_must_be_changed_and_chosen_ones_need_not(env: dict[str, str]) -> None:
    made = cloudmall(env, "admin", "create", "ops@example.com")
    (first,) = ONE_TIME.findall(made)
    assert must_change("ops@example.com", first)

    again = cloudmall(env, "admin", "create", "ops@example.com")
    assert "its password is unchanged" in again and "cloudmall admin reset-password" in again
    assert not ONE_TIME.findall(again)

    reset = cloudmall(env, "admin", "reset-password", "ops@example.com")
    (second,) = ONE_TIME.findall(reset)
    assert second != first and must_change("ops@example.com", second)

    cloudmall(env, "admin", "create", "chosen@example.com", "--password", "the operator's own one")
    assert not must_change("chosen@example.com", "the operator's own one")


def test_reset_password_names_a_missing_account(env: dict[str, str]) -> None:
    cloudmall(env, "migrate")
    answer = CliRunner().invoke(app, ["admin", "reset-password", "nobody@example.com"], env=env)
    assert answer.exit_code == 1
    assert "No account with the email nobody@example.com" in answer.output
