"""The products context's background work: the sweeper, the outbox's `stock` reader, and the
reservation time's setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from cloudmall.bootstrap import build_shop
from cloudmall.config import Settings
from cloudmall.domain import events
from cloudmall.domain.reservations import ReservationStatus
from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.outbox_readers import BackgroundLoop, HandlingReader
from cloudmall.services.ports import ReservationRequest
from cloudmall.services.stock_readers import StockSweeper, stock_reader
from tests.unit.fakes import FakeStore

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def test_the_sweeper_releases_every_due_reservation_batch_by_batch(
    store: FakeStore, catalog_cache: CatalogCache, add_product, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stock, "EXPIRE_BATCH", 2)
    mug = await add_product(stock=10)
    requests = [ReservationRequest(f"r{i}", {mug.id: 1}) for i in range(5)]
    await stock.reserve_many(store, requests, cache=catalog_cache, reservation_minutes=30, now=NOW)
    sweeper = StockSweeper(store, catalog_cache, clock=lambda: NOW + timedelta(minutes=31))
    assert await sweeper.run_once() == 5
    assert await sweeper.run_once() == 0
    assert store.data.products[mug.id].stock_quantity == 10


async def test_the_stock_reader_releases_cancelled_orders_reservations_once(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=4)
    await stock.reserve_many(
        store,
        [ReservationRequest("a", {mug.id: 3})],
        cache=catalog_cache,
        reservation_minutes=30,
        now=NOW,
    )
    cancelled = events.new_event(events.ORDER_CANCELLED, 1, {"order_id": 1, "reservation_id": "a"})
    async with store(write=True) as tx:
        await tx.outbox.add([cancelled, cancelled])
        await tx.commit()
    reader = stock_reader(store, catalog_cache, batch_size=2, consumers=("stock",))
    assert await reader.run_once() > 0
    assert await reader.run_once() == 0
    assert store.data.reservations["a"].status is ReservationStatus.RELEASED
    assert store.data.products[mug.id].stock_quantity == 4


@pytest.mark.parametrize("minutes", ["0", "1441", "x"])
def test_the_reservation_time_is_one_minute_to_one_day(tmp_path: Path, minutes: str) -> None:
    with pytest.raises(ValidationError, match="reservation_minutes"):
        Settings(var_dir=tmp_path, reservation_minutes=minutes)
    assert Settings(var_dir=tmp_path).reservation_minutes == 30


def _name(reader: object) -> str:
    """A background loop's reader: a handling reader by its consumer, the others by class."""
    if isinstance(reader, HandlingReader):
        return f"{reader.consumer} reader"
    return type(reader).__name__


async def test_a_server_sweeps_and_reads_for_stock_in_the_background(tmp_path: Path) -> None:
    shop = build_shop(Settings(var_dir=tmp_path, outbox_consumers="lake,mail,stock"))
    try:
        loops = [work for work in shop._background if isinstance(work, BackgroundLoop)]
        assert sorted(_name(loop.reader) for loop in loops) == [
            "MailReader",
            "PaymentReconciler",
            "StockSweeper",
            "stock reader",
        ]
    finally:
        await shop.aclose()
