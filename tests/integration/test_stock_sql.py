"""Stock reservations on every SQL backend: the repository's contract, and concurrent reserves
and releases that never oversell and never give units back twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain.errors import OutOfStock
from cloudmall.domain.orders import OrderLine
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine
from cloudmall.domain.users import Role
from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import (
    NewOrder,
    NewProduct,
    NewReservation,
    ReservationRequest,
    RetryableConflict,
)
from cloudmall.services.stock_desk import LocalStockDesk
from tests.conftest import shop_env
from tests.support import cli
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 2, 12, 0, 0, 123456, tzinfo=UTC)


def catalog_cache() -> CatalogCache:
    return CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())


async def new_product(uow: SqlUnitOfWorkFactory, stock_quantity: int) -> int:
    async with uow(write=True) as tx:
        product = await tx.products.add(
            NewProduct("머그", Decimal("12.50"), "d", "kitchen", stock_quantity)
        )
        await tx.commit()
    return product.id


async def stock_left(uow: SqlUnitOfWorkFactory, product_id: int) -> int:
    async with uow() as tx:
        product = await tx.products.get(product_id)
    assert product is not None
    return product.stock_quantity


async def test_reservations_round_trip_and_move_once(sql_uow: SqlUnitOfWorkFactory) -> None:
    mug, pen = await new_product(sql_uow, 5), await new_product(sql_uow, 5)
    lines = (
        ReservedLine(mug, "머그", Decimal("12.50"), 2),
        ReservedLine(pen, "펜", Decimal("1.00"), 1),
    )
    async with sql_uow(write=True) as tx:
        await tx.reservations.add_many(
            [
                NewReservation("a", lines, NOW + timedelta(minutes=30), NOW),
                NewReservation("b", lines[1:], NOW + timedelta(minutes=5), NOW),
            ]
        )
        await tx.commit()
    with pytest.raises(RetryableConflict):
        async with sql_uow(write=True) as tx:
            await tx.reservations.add_many([NewReservation("a", lines, NOW, NOW)])
    async with sql_uow(write=True) as tx:
        found = await tx.reservations.get_many(["a", "b", "none"], lock=True)
        assert set(found) == {"a", "b"}
        assert found["a"] == Reservation(
            "a", ReservationStatus.RESERVED, lines, NOW + timedelta(minutes=30), NOW, NOW
        )
        assert await tx.reservations.due(before=NOW + timedelta(hours=1), limit=10) == ["b", "a"]
        assert await tx.reservations.due(before=NOW + timedelta(minutes=10), limit=10) == ["b"]
        assert await tx.reservations.transition(
            "a", ReservationStatus.RESERVED, ReservationStatus.SOLD
        )
        assert not await tx.reservations.transition(
            "a", ReservationStatus.RESERVED, ReservationStatus.RELEASED
        )
        assert await tx.reservations.units() == {mug: (0, 2), pen: (1, 1)}
        assert await tx.reservations.due(before=NOW + timedelta(hours=1), limit=10) == ["b"]
        await tx.commit()


async def test_an_order_keeps_its_reservation_id(sql_uow: SqlUnitOfWorkFactory) -> None:
    line = OrderLine(1, "머그", 1, Decimal("12.50"))
    async with sql_uow(write=True) as tx:
        user = await tx.users.add(email="a@b.co", name="A", role=Role.CUSTOMER, password_hash="h")
        [with_one, without] = await tx.orders.add_many(
            [
                NewOrder(user.id, (line,), Decimal("12.50"), reservation_id="r-1"),
                NewOrder(user.id, (line,), Decimal("12.50")),
            ]
        )
        await tx.commit()
    assert with_one.reservation_id == "r-1" and without.reservation_id is None
    async with sql_uow() as tx:
        read = await tx.orders.get(with_one.id)
    assert read is not None and read.reservation_id == "r-1"


async def test_many_tasks_reserving_the_last_units_never_oversell(
    sql_uow: SqlUnitOfWorkFactory,
) -> None:
    mug = await new_product(sql_uow, 7)
    desk = LocalStockDesk(sql_uow, catalog_cache(), reservation_minutes=30)

    async def reserve(i: int) -> str:
        [answer] = await desk.reserve([ReservationRequest(f"task-{i}", {mug: 2 if i % 3 else 1})])
        if isinstance(answer, OutOfStock):
            return "out"
        assert isinstance(answer, Reservation), answer
        return "ok"

    results = await asyncio.gather(*(reserve(i) for i in range(30)))
    left = await stock_left(sql_uow, mug)
    assert left >= 0 and results.count("ok") >= 4
    async with sql_uow() as tx:
        reserved, sold = (await tx.reservations.units())[mug]
    assert (left + reserved + sold, sold) == (7, 0)
    # the same ids again: the same answers, nothing taken twice
    again = await asyncio.gather(*(reserve(i) for i in range(30)))
    assert again == results and await stock_left(sql_uow, mug) == left


async def test_two_releases_of_one_reservation_give_its_units_back_once(
    sql_uow: SqlUnitOfWorkFactory,
) -> None:
    mug = await new_product(sql_uow, 10)
    desk = LocalStockDesk(sql_uow, catalog_cache(), reservation_minutes=30, clock=lambda: NOW)
    await desk.reserve([ReservationRequest("a", {mug: 4}), ReservationRequest("b", {mug: 3})])
    await desk.confirm("b")
    released = await asyncio.gather(
        desk.release("a", reason="cancel"),
        desk.release("a", reason="cancel"),
        desk.release("b", reason="refund"),
        stock.expire_due(sql_uow, cache=catalog_cache(), now=NOW + timedelta(hours=1)),
        desk.release("b", reason="refund"),
    )
    assert all(
        r.status is ReservationStatus.RELEASED for r in released if isinstance(r, Reservation)
    )
    assert await stock_left(sql_uow, mug) == 10
    async with sql_uow() as tx:
        assert await tx.reservations.units() == {}
        events = await tx.outbox.claim("test", 100, gaps=True)
    assert events is not None
    returned = [
        (e.event.payload["reservation_id"], e.event.payload["delta"])
        for e in events.entries
        if e.event.type == "product.stock_changed" and e.event.payload["delta"] > 0
    ]
    assert sorted(returned) == [("a", 4), ("b", 3)]


async def test_the_expire_command_releases_what_is_due(
    sql_uow: SqlUnitOfWorkFactory, database_url: str, tmp_path: Path
) -> None:
    mug = await new_product(sql_uow, 5)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    desk = LocalStockDesk(sql_uow, catalog_cache(), reservation_minutes=30, clock=lambda: long_ago)
    await desk.reserve([ReservationRequest("old", {mug: 2}), ReservationRequest("paid", {mug: 1})])
    await desk.confirm("paid")
    env = shop_env(database_url, tmp_path)
    first = await anyio.to_thread.run_sync(cli, env, tmp_path, "stock", "expire")
    assert first.returncode == 0, first.stderr
    assert "released 1 expired reservations" in first.stdout
    again = await anyio.to_thread.run_sync(cli, env, tmp_path, "stock", "expire")
    assert "released 0 expired reservations" in again.stdout
    assert await stock_left(sql_uow, mug) == 4
