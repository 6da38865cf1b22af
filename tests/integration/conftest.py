"""Real database engines, migrated with Alembic, one fresh database per test and backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    await upgrade(database_url)
    engine = create_engine(database_url, pool_size=20)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()
