"""Real databases, one fresh one per test: each SQL backend migrated with Alembic, and a DynamoDB
table on moto's server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.dynamodb.client import DynamoClient, TableAddress
from cloudmall.adapters.dynamodb.table import create_table
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
from cloudmall.services.ports import UnitOfWorkFactory
from tests.support import BACKENDS, S3_ENV, Service, new_table_url, scratch_database

#: Where the port-contract tests run: every SQL backend and DynamoDB.
STORES = [*BACKENDS, "dynamodb"]


@pytest.fixture
async def sql_uow(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    await upgrade(database_url)
    engine = create_engine(database_url, pool_size=20)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


@pytest.fixture(params=STORES)
async def uow(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    dynamodb: Service,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[UnitOfWorkFactory]:
    """The units of work of one store; the tests that take it are about the ports' contract."""
    if request.param == "dynamodb":
        for name, value in S3_ENV.items():
            monkeypatch.setenv(name, value)
        client = DynamoClient(TableAddress.parse(new_table_url(dynamodb)))
        await create_table(client)
        try:
            yield DynamoUnitOfWorkFactory(client)
        finally:
            await client.aclose()
        return
    with scratch_database(request.param, tmp_path) as url:
        await upgrade(url)
        engine = create_engine(url, pool_size=20)
        try:
            yield SqlUnitOfWorkFactory(engine)
        finally:
            await engine.dispose()
