"""The shop built on `dynamodb://` (the local DynamoDB): what bootstrap wires, its health, a
group of orders too big for one transaction, and the stock sweeper."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.dynamodb.transaction import MAX_ITEMS, MAX_ORDERS_PER_TRANSACTION
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
from cloudmall.bootstrap import build_shop, migrate
from cloudmall.config import Settings
from cloudmall.domain.reservations import ReservationStatus
from cloudmall.domain.users import Role
from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.commands import (
    CheckTiers,
    CreateProduct,
    ExpireReservations,
    UpdateProduct,
)
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.outbox_readers import BackgroundLoop
from cloudmall.services.ports import (
    Principal,
    ProductChanges,
    ReservationRequest,
    RetryableConflict,
)
from tests.conftest import shop_env
from tests.support import S3_ENV, Service, cli, new_table_url
from tests.unit.contexts import stock_desk
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(dynamodb: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    return Settings(
        environment="test",
        database_url=new_table_url(dynamodb),
        var_dir=tmp_path,
        secret_key="dynamodb-" + "0123456789abcdef" * 4,
    )


async def test_bootstrap_wires_the_table_and_its_health(settings: Settings) -> None:
    await migrate(settings)
    await migrate(settings)  # the table exists: nothing to do
    shop = build_shop(settings)
    try:
        assert isinstance(shop.tiers["uow"], DynamoUnitOfWorkFactory)
        placer = shop.tiers["placer"]
        assert isinstance(placer, OrderDesk) and placer._max_group == MAX_ORDERS_PER_TRANSACTION
        tiers = {tier.name: tier for tier in await shop.handle(CheckTiers())}
        table = settings.database_url.split("//")[1].split("?")[0]
        assert tiers["database"].ok and tiers["database"].detail == f"dynamodb {table} (active)"
        assert "migrations" not in tiers  # the table and its indexes are the schema
    finally:
        await shop.aclose()


async def test_a_group_too_big_for_one_transaction_places_each_order_alone(
    settings: Settings,
) -> None:
    await migrate(settings)
    shop = build_shop(settings)
    try:
        products = [
            (await shop.handle(CreateProduct(name=f"P{i}", price="1.00", stock_quantity=10))).id
            for i in range(110)
        ]
        uow = shop.tiers["uow"]
        metrics = FakeMetrics()
        desk = OrderDesk(
            uow=uow,  # type: ignore[arg-type]
            stock=stock_desk(uow, CatalogCache(MemoryCache(), ttl_seconds=60, metrics=metrics)),
            metrics=metrics,
            limits=OrderLimits(),
            max_group=MAX_ORDERS_PER_TRANSACTION,
        )
        carts = [products[i : i + 10] for i in range(0, 110, 10)]
        # Together: 110 stock updates + 11 orders + 11 keys + 1 outbox record.
        assert len(products) + 2 * len(carts) + 1 > MAX_ITEMS
        placed = await asyncio.gather(
            *(
                desk.place(
                    principal=Principal(1, Role.CUSTOMER),
                    items=[(pid, 1) for pid in cart],
                    client_total=None,
                    idempotency_key=f"cart-{n}",
                )
                for n, cart in enumerate(carts)
            )
        )
        assert ("order_group", (len(carts), "placed_alone")) in metrics.events
        assert len({p.order.id for p in placed}) == len(carts)
        assert all(p.order.total_amount == Decimal("10.00") for p in placed)
        async with uow() as tx:  # type: ignore[operator]
            left = await tx.products.get_many(products)
        assert {product.stock_quantity for product in left.values()} == {9}
    finally:
        await shop.aclose()


async def test_a_staff_count_edit_is_refused_if_the_count_changed_since_it_was_read(
    settings: Settings,
) -> None:
    # No locks: the edit is conditioned on the count it read, so its restock event is exact.
    await migrate(settings)
    shop = build_shop(settings)
    try:
        product = await shop.handle(CreateProduct(name="Mug", price="2.00", stock_quantity=5))
        uow = shop.tiers["uow"]
        async with uow(write=True) as edit:  # type: ignore[operator]
            await edit.products.get_many([product.id], lock=True)
            await edit.products.update(product.id, ProductChanges(stock_quantity=50))
            async with uow(write=True) as order:  # type: ignore[operator]
                await order.products.get_many([product.id], lock=True)
                await order.products.take_locked_stock({product.id: 2})
                await order.commit()
            with pytest.raises(RetryableConflict):
                await edit.commit()
        async with uow() as tx:  # type: ignore[operator]
            assert (await tx.products.get(product.id)).stock_quantity == 3  # type: ignore[union-attr]
        # Through the use case, which tries again: the edit wins, from the count it finds.
        edited = await shop.handle(UpdateProduct(product.id, ProductChanges(stock_quantity=50)))
        assert edited.stock_quantity == 50
    finally:
        await shop.aclose()


async def test_a_server_on_a_table_sweeps_expired_reservations(settings: Settings) -> None:
    await migrate(settings)
    shop = build_shop(settings)
    try:
        loops = [work for work in shop._background if isinstance(work, BackgroundLoop)]
        assert "StockSweeper" in {type(loop.reader).__name__ for loop in loops}
        product = await shop.handle(CreateProduct(name="Mug", price="2.00", stock_quantity=5))
        uow = shop.tiers["uow"]
        cache = CatalogCache(MemoryCache(), ttl_seconds=60, metrics=FakeMetrics())
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await stock.reserve_many(
            uow,  # type: ignore[arg-type]
            [ReservationRequest("late", {product.id: 2})],
            cache=cache,
            reservation_minutes=30,
            now=an_hour_ago,
        )
        assert await shop.handle(ExpireReservations()) == 1  # `cloudmall stock expire`
        assert await shop.handle(ExpireReservations()) == 0
        async with uow() as tx:  # type: ignore[operator]
            assert (await tx.products.get(product.id)).stock_quantity == 5  # type: ignore[union-attr]
            (late,) = (await tx.reservations.get_many(["late"])).values()
        assert late.status is ReservationStatus.RELEASED
    finally:
        await shop.aclose()


def test_backup_of_a_missing_table_says_there_is_nothing(dynamodb: Service, tmp_path: Path) -> None:
    """(Backup and restore between SQL and a table: tests/integration/backup/test_dynamodb.py.)"""
    env = shop_env(new_table_url(dynamodb), tmp_path, **S3_ENV)
    made = cli(env, tmp_path, "backup", "create")
    assert made.returncode == 1 and "nothing to back up" in made.stderr, made.stderr
    assert "Traceback" not in made.stderr
