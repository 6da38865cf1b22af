"""A shop migrated on a scratch database, and its Lambda functions built as a container would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudmall.bootstrap import migrate
from cloudmall.config import Settings
from cloudmall.serverless.function import Function
from tests.conftest import TEST_SECRET_KEY

SECRET = TEST_SECRET_KEY
MakeFunction = Callable[..., Function]


def function_settings(database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        environment="test",
        runtime="function",
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key=SECRET,
        **extra,
    )


def function_environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment a function's settings are read from (as the stack sets it), on the
    scratch database and folder."""
    return {
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_RUNTIME": "function",
        "CLOUDMALL_DATABASE_URL": database_url,
        "CLOUDMALL_VAR_DIR": str(tmp_path / "var"),
        "CLOUDMALL_SECRET_KEY": SECRET,
    }


@pytest.fixture
def make_function(database_url: str, tmp_path: Path) -> Iterator[MakeFunction]:
    """Builds functions (one per name asked) on one migrated database; closes them afterwards."""
    asyncio.run(migrate(function_settings(database_url, tmp_path)))
    built: list[Function] = []

    def make(function: str = "all", **extra: Any) -> Function:
        made = Function(function_settings(database_url, tmp_path, function=function, **extra))
        built.append(made)
        return made

    yield make
    for made in built:
        asyncio.get_event_loop().run_until_complete(made.shop.aclose())


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request: pytest.FixtureRequest) -> str:
    """The embedded default and the engine the serverless stack runs (MySQL's family)."""
    return str(request.param)
