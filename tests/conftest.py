"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import env_guard
from tests.support import (
    BACKENDS,
    S3_ENV,
    STARTED,
    LiveServer,
    Service,
    new_bucket,
    new_table_url,
    redis_url,
    scratch_database,
    start_moto,
    start_server,
    stop_server,
)
from tests.topology import running_topology, service_databases


@pytest.fixture(autouse=True)
def no_test_leaks_settings() -> Iterator[None]:
    """Fail a test that leaves a CLOUDMALL_* or OTEL_* variable changed (monkeypatch undoes its
    changes before this check), and put the variables back for the tests after it."""
    before = env_guard.watched()
    yield
    after = env_guard.watched()
    if after != before:
        env_guard.restore(before)
        pytest.fail(
            "the test left environment variables changed: "
            f"{', '.join(env_guard.changes(before, after))}; use monkeypatch.setenv/delenv, or "
            "give the process it starts an env of its own",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def no_server_outlives_the_tests() -> Iterator[None]:
    yield
    for server in STARTED:
        if server.process.poll() is None:
            stop_server(server)


@pytest.fixture(scope="session")
def moto() -> Iterator[Service]:
    """moto's S3 server, shared by the whole session."""
    service = start_moto()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[Service]:
    """moto's server as the local DynamoDB (one request at a time), shared by the session."""
    service = start_moto(serial=True)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with scratch_database(backend, tmp_path) as url:
        yield url


#: Long enough for HS256 (64 bytes and more), as the shop requires.
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256-" + "0123456789abcdef" * 2


def shop_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_DATABASE_URL": database_url,
        "CLOUDMALL_VAR_DIR": str(tmp_path / "var"),
        "CLOUDMALL_SECRET_KEY": TEST_SECRET_KEY,
        # Every test client signs up from 127.0.0.1; the sign-up limit has tests of its own.
        "CLOUDMALL_SIGNUPS_PER_CLIENT": "1000000",
        **extra,
    }


def real_tiers_env(moto: Service) -> dict[str, str]:
    """Redis for the cache and moto's S3 for the object store: the 3-tier settings."""
    return {"CLOUDMALL_CACHE_URL": redis_url(), "CLOUDMALL_STORAGE_URL": new_bucket(moto), **S3_ENV}


#: (backend, runtime) pairs the API suite runs on: the server on every backend and on DynamoDB
#: (moto's server), the Lambda handler (the local function runtime) on MariaDB, the engine
#: the serverless stack runs, and on DynamoDB (pattern 6: API Gateway, Lambda, DynamoDB), and
#: the services topology (four services, a MariaDB database each, behind the nginx gateway).
LIVE_SERVERS = (
    [(backend, "server") for backend in BACKENDS]
    + [("dynamodb", "server")]
    + ([("mariadb", "function")] if "mariadb" in BACKENDS else [])
    + [("dynamodb", "function")]
    + ([("mariadb", "services")] if "mariadb" in BACKENDS else [])
)


@pytest.fixture(scope="module", params=LIVE_SERVERS, ids=[f"{b}-{r}" for b, r in LIVE_SERVERS])
def live_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    moto: Service,
    dynamodb: Service,
) -> Iterator[LiveServer]:
    """A real `cloudmall serve` process per backend and runtime, shared by a module's tests;
    for the `services` runtime, the gateway in front of the four services (each process on its
    own database).

    On SQLite it runs on the embedded defaults (in-process cache, local folder); on MariaDB,
    PostgreSQL and DynamoDB with the real tiers (Redis, S3).
    """
    backend, runtime = request.param
    tmp_path = tmp_path_factory.mktemp(f"server-{backend}-{runtime}")
    if runtime == "services":
        with (
            service_databases(backend, tmp_path) as databases,
            running_topology(databases, shop_env("", tmp_path), tmp_path) as topology,
        ):
            yield topology.gateway
        return
    with database_for(backend, tmp_path, dynamodb) as url:
        extra = {} if backend == "sqlite" else real_tiers_env(moto)
        server = start_server(shop_env(url, tmp_path, **extra), tmp_path, runtime=runtime)
        try:
            yield server
        finally:
            stop_server(server)


@contextmanager
def database_for(backend: str, tmp_path: Path, dynamodb: Service) -> Iterator[str]:
    """A scratch SQL database, or a new table on the local DynamoDB (made by the migrate)."""
    if backend == "dynamodb":
        yield new_table_url(dynamodb)
        return
    with scratch_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
