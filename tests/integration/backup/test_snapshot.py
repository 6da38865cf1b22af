"""The snapshot is a snapshot: rows committed by the shop after it began are not in it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.snapshot import backup_database
from cloudmall.adapters.db.tables import users


async def scenario(database_url: str) -> None:
    await upgrade(database_url)
    database = backup_database(database_url)
    spec = next(t for t in database.tables() if t.name == "users")
    now = datetime.now(UTC)

    async def add_user(n: int) -> None:
        async with database.engine.begin() as conn:
            await conn.execute(
                users.insert(),
                {
                    "email": f"u{n}@cloudmall.test",
                    "password_hash": "x",
                    "name": f"user {n}",
                    "role": "customer",
                    "created_at": now,
                    "updated_at": now,
                },
            )

    try:
        await add_user(1)
        async with database.snapshot() as snapshot:
            assert snapshot.revision == database.code_revision()
            assert await snapshot.count(spec) == 1
            await add_user(2)  # the shop writes on; it is not blocked by the snapshot
            await add_user(3)
            assert await snapshot.count(spec) == 1
            rows = [row async for batch in snapshot.batches(spec, 1) for row in batch]
            assert [row[1] for row in rows] == ["u1@cloudmall.test"]
        async with database.snapshot() as later:
            assert await later.count(spec) == 3
        assert (await database.row_counts())["users"] == 3
    finally:
        await database.engine.dispose()


def test_snapshot_does_not_see_later_writes(database_url: str) -> None:
    asyncio.run(scenario(database_url))
