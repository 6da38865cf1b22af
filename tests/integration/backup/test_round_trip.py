"""Back up a shop of 10,000+ orders while orders keep being placed, restore it, compare.

Runs on each backend (the `database_url` fixture): the source and the restore target are both
real databases of that backend. The times are printed so they can be quoted.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.snapshot import SqlBackupDatabase
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.metrics import PrometheusMetrics
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.domain.users import Role
from cloudmall.services.backup import create_backup, restore_backup
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.ports import Principal, RetryableConflict
from tests.integration.backup.shop import fill_shop, max_ids_of
from tests.support import scratch_database
from tests.unit.contexts import stock_desk

ORDERS = 10_000


@dataclass
class Shoppers:
    """Customers placing orders through the order service, concurrently with the backup."""

    uow: SqlUnitOfWorkFactory
    placed: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, n_users: int, n_products: int) -> None:
        cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=PrometheusMetrics())
        desk = OrderDesk(
            uow=self.uow,
            stock=stock_desk(self.uow, cache),
            metrics=PrometheusMetrics(),
            limits=OrderLimits(),
        )
        on_sale = [p for p in range(1, n_products + 1) if p % 7 != 0]  # see fill_shop
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                await desk.place(
                    principal=Principal(user_id=1 + i % n_users, role=Role.CUSTOMER),
                    items=[(on_sale[i % len(on_sale)], 1), (on_sale[(i * 7) % len(on_sale)], 2)],
                    client_total=None,
                    idempotency_key=f"during-backup-{secrets.token_hex(6)}",
                )
                self.placed += 1
            except RetryableConflict:
                continue
            await asyncio.sleep(0)

    async def wait_for(self, count: int, task: asyncio.Task[None]) -> None:
        deadline = time.monotonic() + 30
        while self.placed < count:
            if task.done():
                await task  # raises what stopped the shoppers
                raise AssertionError("the shoppers stopped")
            assert time.monotonic() < deadline, f"only {self.placed} orders placed in 30 s"
            await asyncio.sleep(0.005)


async def scenario(source_url: str, target_url: str, tmp_path: Path, backend: str) -> None:
    t0 = time.monotonic()
    facts = await fill_shop(source_url, n_orders=ORDERS)
    filled = time.monotonic() - t0
    store = LocalObjectStore(tmp_path / "store")

    engine = create_engine(source_url)
    shoppers = Shoppers(SqlUnitOfWorkFactory(engine))
    writer = asyncio.create_task(shoppers.run(facts.users, facts.products))
    source = SqlBackupDatabase(create_engine(source_url, pool_size=2), source_url)
    try:
        await shoppers.wait_for(3, writer)
        before = shoppers.placed
        t1 = time.monotonic()
        manifest = await create_backup(database=source, store=store, batch_size=500)
        backup_seconds = time.monotonic() - t1
        during = shoppers.placed - before
        await shoppers.wait_for(shoppers.placed + 3, writer)  # the shop goes on after the snapshot
    finally:
        shoppers.stop.set()
        await writer
        await source.engine.dispose()
    after = await max_ids_of(engine)
    await engine.dispose()

    assert during > 0, "no order was placed while the backup ran"
    backed_up = manifest.rows("orders")
    assert ORDERS <= backed_up < after["orders"]  # a snapshot: some orders, not the later ones
    assert manifest.rows("order_lines") >= facts.order_lines
    assert manifest.backend in ("sqlite", "mariadb", "mysql", "postgresql")

    target = SqlBackupDatabase(create_engine(target_url), target_url)
    try:
        t2 = time.monotonic()
        report = await restore_backup(store=store, database=target, backup_id=manifest.backup_id)
        restore_seconds = time.monotonic() - t2
        assert report.rows == {entry.name: entry.rows for entry in manifest.tables}

        async with target.engine.connect() as conn:  # the snapshot was consistent
            orphans = await conn.scalar(
                text(
                    "SELECT count(*) FROM orders o WHERE NOT EXISTS "
                    "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)"
                )
            )
            assert orphans == 0
            mismatched = await conn.scalar(
                text(
                    "SELECT count(*) FROM orders o WHERE abs(o.total_amount - "
                    "(SELECT sum(l.quantity * l.unit_price) FROM order_lines l "
                    "WHERE l.order_id = o.id)) > 0.001"  # SQLite's NUMERIC is a float
                )
            )
            assert mismatched == 0

        # New orders in the restored shop get fresh ids (sequences / auto-increment moved on).
        restored_max = await max_ids_of(target.engine)
        shopper = Shoppers(SqlUnitOfWorkFactory(target.engine))
        shopper.stop.set()
        desk = OrderDesk(
            uow=shopper.uow,
            stock=stock_desk(
                shopper.uow,
                CatalogCache(MemoryCache(), ttl_seconds=300, metrics=PrometheusMetrics()),
            ),
            metrics=PrometheusMetrics(),
            limits=OrderLimits(),
        )
        placed = await desk.place(
            principal=Principal(user_id=1, role=Role.CUSTOMER),
            items=[(1, 1)],
            client_total=None,
            idempotency_key="after-restore",
        )
        assert placed.order.id == restored_max["orders"] + 1
    finally:
        await target.engine.dispose()

    total_rows = sum(entry.rows for entry in manifest.tables)
    print(
        f"\n[backup round trip, {backend}] {backed_up} orders, {total_rows} rows, "
        f"{manifest.size / 1024:.0f} KiB: fill {filled:.1f} s, backup {backup_seconds:.1f} s "
        f"({during} orders placed meanwhile), restore+verify {restore_seconds:.1f} s, "
        f"round trip {backup_seconds + restore_seconds:.1f} s"
    )


def test_backup_during_traffic_then_restore(
    database_url: str, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "target").mkdir()
    with scratch_database(backend, tmp_path / "target") as target_url:
        asyncio.run(scenario(database_url, target_url, tmp_path, backend))
    with capsys.disabled():
        print(capsys.readouterr().out.strip())
