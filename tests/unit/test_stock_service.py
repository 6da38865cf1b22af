"""The products context's stock reservations on the fakes: reserve, confirm, release, expire."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmall.domain import events
from cloudmall.domain.errors import IdempotencyKeyReused, NotFound, OutOfStock
from cloudmall.domain.products import Product
from cloudmall.domain.reservations import Reservation, ReservationExpired, ReservationStatus
from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import NewProduct, ReservationRequest
from cloudmall.services.stock_desk import LocalStockDesk
from tests.unit.fakes import FakeCache, FakeMetrics, FakeStore

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def desk(store: FakeStore, cache: CatalogCache, at: datetime = NOW) -> LocalStockDesk:
    return LocalStockDesk(store, cache, reservation_minutes=30, clock=lambda: at)


def stock_of(store: FakeStore, *products: Product) -> list[int]:
    return [store.data.products[p.id].stock_quantity for p in products]


def stock_events(store: FakeStore) -> list[tuple[int, int, str, str | None]]:
    return [
        (
            e.event.payload["product_id"],
            e.event.payload["delta"],
            e.event.payload["reason"],
            e.event.payload.get("reservation_id"),
        )
        for e in store.data.outbox
        if e.event.type == events.PRODUCT_STOCK_CHANGED.name
        and e.event.payload["reason"] != "restock"
    ]


async def test_refused_and_accepted_requests_in_one_call(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="2.50", name="Mug")
    pen = await add_product(stock=1, price="1.00", name="Pen")
    answers = await desk(store, catalog_cache).reserve(
        [
            ReservationRequest("a", {mug.id: 2, pen.id: 1}),
            ReservationRequest("b", {mug.id: 2}),  # one mug left: refused
            ReservationRequest("c", {999: 1}),  # no such product
            ReservationRequest("d", {mug.id: 1}),
        ]
    )
    first, second, third, fourth = answers
    assert isinstance(first, Reservation) and first.status is ReservationStatus.RESERVED
    assert [(line.product_id, line.quantity, line.product_name) for line in first.lines] == [
        (mug.id, 2, "Mug"),
        (pen.id, 1, "Pen"),
    ]
    assert first.lines[0].unit_price == mug.price
    assert first.expires_at == NOW + timedelta(minutes=30)
    assert isinstance(second, OutOfStock) and second.available == 1
    assert isinstance(third, NotFound)
    assert isinstance(fourth, Reservation)
    assert stock_of(store, mug, pen) == [0, 0]
    assert set(store.data.reservations) == {"a", "d"}
    assert stock_events(store) == [
        (mug.id, -2, "order", "a"),
        (pen.id, -1, "order", "a"),
        (mug.id, -1, "order", "d"),
    ]


async def test_an_inactive_product_cannot_be_reserved(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    store.data.inactive.add(mug.id)
    [answer] = await desk(store, catalog_cache).reserve([ReservationRequest("a", {mug.id: 1})])
    assert isinstance(answer, NotFound)
    assert store.data.reservations == {}


async def test_reserving_again_by_id_takes_nothing_twice(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    stock_desk = desk(store, catalog_cache)
    [first] = await stock_desk.reserve([ReservationRequest("a", {mug.id: 2})])
    [again, same_call] = await stock_desk.reserve(
        [ReservationRequest("a", {mug.id: 2}), ReservationRequest("a", {mug.id: 2})]
    )
    assert again == first and same_call == first
    assert stock_of(store, mug) == [1]
    [other] = await stock_desk.reserve([ReservationRequest("a", {mug.id: 1})])
    assert isinstance(other, IdempotencyKeyReused)
    [new, reused] = await stock_desk.reserve(
        [ReservationRequest("b", {mug.id: 1}), ReservationRequest("b", {mug.id: 2})]
    )
    assert isinstance(new, Reservation) and isinstance(reused, IdempotencyKeyReused)
    assert stock_of(store, mug) == [0]


async def test_confirm_and_release_happen_once(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    stock_desk = desk(store, catalog_cache)
    await stock_desk.reserve([ReservationRequest("a", {mug.id: 2})])
    sold = await stock_desk.confirm("a")
    assert sold.status is ReservationStatus.SOLD
    assert (await stock_desk.confirm("a")).status is ReservationStatus.SOLD
    assert stock_of(store, mug) == [1]
    released = await stock_desk.release("a", reason="refund")
    again = await stock_desk.release("a", reason="refund")
    assert released is not None and released.status is ReservationStatus.RELEASED
    assert again == released
    assert stock_of(store, mug) == [3]
    assert stock_events(store) == [(mug.id, -2, "order", "a"), (mug.id, 2, "refund", "a")]
    with pytest.raises(ReservationExpired):
        await stock_desk.confirm("a")
    with pytest.raises(NotFound):
        await stock_desk.confirm("nobody")
    assert await stock_desk.release("nobody", reason="cancel") is None


async def test_expired_reservations_are_released_once(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    await desk(store, catalog_cache).reserve([ReservationRequest("old", {mug.id: 2})])
    later = NOW + timedelta(minutes=10)
    await desk(store, catalog_cache, later).reserve([ReservationRequest("new", {mug.id: 1})])
    await desk(store, catalog_cache).reserve([ReservationRequest("paid", {mug.id: 1})])
    await desk(store, catalog_cache).confirm("paid")
    at = NOW + timedelta(minutes=31)
    assert await stock.expire_due(store, cache=catalog_cache, now=at) == 1
    assert await stock.expire_due(store, cache=catalog_cache, now=at) == 0
    assert store.data.reservations["old"].status is ReservationStatus.RELEASED
    assert store.data.reservations["new"].status is ReservationStatus.RESERVED
    assert store.data.reservations["paid"].status is ReservationStatus.SOLD
    assert stock_of(store, mug) == [3]
    expired = [e.event for e in store.data.outbox if e.event.type == "stock.reservation_expired"]
    assert [(e.aggregate_id, dict(e.payload)) for e in expired] == [
        ("old", {"reservation_id": "old"})
    ]
    assert stock_events(store)[-1] == (mug.id, 2, "expired", "old")
    with pytest.raises(ReservationExpired):
        await desk(store, catalog_cache).confirm("old")


async def test_the_sweeper_takes_a_limited_batch_soonest_first(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    for minute in (3, 1, 2):
        at = NOW + timedelta(minutes=minute)
        await desk(store, catalog_cache, at).reserve(
            [ReservationRequest(f"r{minute}", {mug.id: 1})]
        )
    at = NOW + timedelta(hours=1)
    assert await stock.expire_due(store, cache=catalog_cache, now=at, limit=2) == 2
    released = {i for i, r in store.data.reservations.items() if r.status.value == "released"}
    assert released == {"r1", "r2"}


async def test_a_cancelled_orders_event_releases_its_reservation(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=2)
    await desk(store, catalog_cache).reserve([ReservationRequest("a", {mug.id: 2})])
    cancelled = events.new_event(events.ORDER_CANCELLED, 7, {"order_id": 7, "reservation_id": "a"})
    for event in (
        cancelled,
        cancelled,  # delivered twice
        events.new_event(events.ORDER_CANCELLED, 8, {"order_id": 8}),  # from before reservations
        events.new_event(events.ORDER_PAID, 9, {"order_id": 9, "reservation_id": "a"}),
    ):
        await stock.handle_order_event(store, event, cache=catalog_cache)
    assert stock_of(store, mug) == [2]
    assert stock_events(store) == [(mug.id, -2, "order", "a"), (mug.id, 2, "cancel", "a")]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["reserve", "confirm", "release", "expire"]),
            st.integers(min_value=0, max_value=4),  # which reservation id
            st.integers(min_value=1, max_value=4),  # units of each product
        ),
        max_size=25,
    )
)
async def test_stock_reserved_and_sold_units_always_add_up(
    steps: list[tuple[str, int, int]],
) -> None:
    store = FakeStore()
    cache = CatalogCache(FakeCache(), ttl_seconds=300, metrics=FakeMetrics())
    async with store(write=True) as tx:
        products = [
            await tx.products.add(NewProduct(name, Decimal("1.00"), "", "general", 6))
            for name in ("mug", "pen")
        ]
        await tx.commit()
    received = {product.id: product.stock_quantity for product in products}
    clock = NOW
    for action, which, units in steps:
        reservation_id = f"r{which}"
        stock_desk = desk(store, cache, clock)
        if action == "reserve":
            wanted = {product.id: units for product in products[: which % 2 + 1]}
            await stock_desk.reserve([ReservationRequest(reservation_id, wanted)])
        elif action == "confirm":
            with contextlib.suppress(NotFound, ReservationExpired):
                await stock_desk.confirm(reservation_id)
        elif action == "release":
            await stock_desk.release(reservation_id, reason="cancel")
        else:
            clock += timedelta(minutes=20)
            await stock.expire_due(store, cache=cache, now=clock)
        async with store() as tx:
            held = await tx.reservations.units()
            for product in products:
                reserved, sold = held.get(product.id, (0, 0))
                left = store.data.products[product.id].stock_quantity
                assert left >= 0
                assert left + reserved + sold == received[product.id]


async def test_a_malformed_request_is_refused_alone(
    store: FakeStore, catalog_cache: CatalogCache, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    answers = await desk(store, catalog_cache).reserve(
        [
            ReservationRequest("x" * 65, {mug.id: 1}),
            ReservationRequest("none", {}),
            ReservationRequest("zero", {mug.id: 0}),
            ReservationRequest("fine", {mug.id: 1}),
        ]
    )
    assert [type(answer).__name__ for answer in answers] == [
        "InvalidInput",
        "InvalidInput",
        "InvalidInput",
        "Reservation",
    ]
    assert stock_of(store, mug) == [2]
