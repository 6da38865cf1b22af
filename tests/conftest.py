"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import BACKENDS, LiveServer, scratch_database, start_server, stop_server


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with scratch_database(backend, tmp_path) as url:
        yield url


def shop_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_DATABASE_URL": database_url,
        "CLOUDMALL_VAR_DIR": str(tmp_path / "var"),
        "CLOUDMALL_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        **extra,
    }


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real `cloudmall serve` process per backend, shared by the tests of one module."""
    tmp_path = tmp_path_factory.mktemp(f"server-{request.param}")
    with scratch_database(str(request.param), tmp_path) as url:
        server = start_server(shop_env(url, tmp_path), tmp_path)
        try:
            yield server
        finally:
            stop_server(server)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
