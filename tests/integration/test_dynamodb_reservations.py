"""Stock reservations on the table (moto's server): every method of the port, the conditional
moves (one of two concurrent callers wins), the sparse expiry index, the stock use cases on it
(the invariant kept, a sweep within one transaction), and an order's reservation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.dynamodb.client import DynamoClient, TableAddress
from cloudmall.adapters.dynamodb.table import create_table, reservation_key
from cloudmall.adapters.dynamodb.transaction import MAX_ITEMS
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
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
from tests.support import S3_ENV, Service, new_table_url
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio

RESERVED, SOLD, RELEASED = ReservationStatus

NOW = datetime.now(UTC)


@pytest.fixture
async def uow(
    dynamodb: Service, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DynamoUnitOfWorkFactory]:
    for name, value in S3_ENV.items():  # moto's credentials and region
        monkeypatch.setenv(name, value)
    client = DynamoClient(TableAddress.parse(new_table_url(dynamodb)))
    await create_table(client)
    try:
        yield DynamoUnitOfWorkFactory(client)
    finally:
        await client.aclose()


def line(product_id: int, quantity: int, price: str = "1200.50") -> ReservedLine:
    return ReservedLine(product_id, f"상품 {product_id}", Decimal(price), quantity)


def new(rid: str, *lines: ReservedLine, minutes: float = 30) -> NewReservation:
    return NewReservation(rid, lines or (line(1, 2),), NOW + timedelta(minutes=minutes))


async def add(uow: DynamoUnitOfWorkFactory, *reservations: NewReservation) -> None:
    async with uow(write=True) as tx:
        await tx.reservations.add_many(reservations)
        await tx.commit()


async def move(
    uow: DynamoUnitOfWorkFactory, rid: str, source: ReservationStatus, target: ReservationStatus
) -> bool:
    async with uow(write=True) as tx:
        moved = await tx.reservations.transition(rid, source, target)
        await tx.commit()
    return moved


async def test_reservations_round_trip_with_their_lines_in_product_order(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    expires = NOW + timedelta(minutes=30)
    await add(
        uow,
        NewReservation("u1:key-a", (line(2, 1, "0.01"), line(7, 3, "99999999.99")), expires),
        new("u1:key-b", line(1, 5)),
    )
    for lock in (False, True):
        async with uow() as tx:
            found = await tx.reservations.get_many(["u1:key-a", "unknown", "u1:key-b"], lock=lock)
        assert sorted(found) == ["u1:key-a", "u1:key-b"]  # an unknown id is absent
        first = found["u1:key-a"]
        assert first.status is RESERVED and first.expires_at == expires
        assert first.lines == (line(2, 1, "0.01"), line(7, 3, "99999999.99"))
        assert first.quantities == {2: 1, 7: 3}
        assert first.created_at == first.updated_at and first.created_at.tzinfo is not None
    async with uow() as tx:
        assert await tx.reservations.get_many([]) == {}


async def test_nothing_is_kept_without_a_commit(uow: DynamoUnitOfWorkFactory) -> None:
    async with uow(write=True) as tx:
        await tx.reservations.add_many([new("r1")])
        assert (await tx.reservations.get_many(["r1"]))["r1"].status is RESERVED  # its own
    async with uow() as tx:
        assert await tx.reservations.get_many(["r1"]) == {}


async def test_a_taken_id_fails_the_whole_transaction(uow: DynamoUnitOfWorkFactory) -> None:
    await add(uow, new("r1", line(1, 2)))
    async with uow(write=True) as tx:
        await tx.reservations.add_many([new("r2"), new("r1", line(3, 9))])
        with pytest.raises(RetryableConflict):
            await tx.commit()
    async with uow() as tx:
        found = await tx.reservations.get_many(["r1", "r2"])
    assert list(found) == ["r1"] and found["r1"].quantities == {1: 2}  # the first one stays
    async with uow(write=True) as tx:
        with pytest.raises(RetryableConflict):  # twice in one transaction
            await tx.reservations.add_many([new("r3"), new("r3")])


async def test_two_reserves_of_one_new_id_at_once_make_it_once(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    async def reserve(product_id: int) -> None:
        await add(uow, new("same", line(product_id, 1)))

    outcomes = await asyncio.gather(reserve(1), reserve(2), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "RetryableConflict"]
    async with uow() as tx:
        (kept,) = (await tx.reservations.get_many(["same"])).values()
    assert kept.quantities == ({1: 1} if outcomes[0] is None else {2: 1})


async def test_a_move_is_made_only_from_its_source(uow: DynamoUnitOfWorkFactory) -> None:
    await add(uow, new("r1"))
    async with uow() as tx:
        before = (await tx.reservations.get_many(["r1"]))["r1"]
    assert not await move(uow, "r1", SOLD, RELEASED)
    assert not await move(uow, "unknown", RESERVED, SOLD)
    assert await move(uow, "r1", RESERVED, SOLD)
    assert not await move(uow, "r1", RESERVED, SOLD)  # sold already
    assert await move(uow, "r1", SOLD, RELEASED)
    assert not await move(uow, "r1", SOLD, RELEASED)
    async with uow() as tx:
        after = (await tx.reservations.get_many(["r1"]))["r1"]
    assert after.status is RELEASED and after.lines == before.lines
    assert after.expires_at == before.expires_at and after.created_at == before.created_at
    assert after.updated_at > before.updated_at


async def test_of_two_concurrent_moves_of_one_reservation_one_is_made(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    """A payment's confirm against the sweeper's release: both read it reserved, both move it;
    the status condition lets one commit, the other is refused and, run again, sees it moved."""
    await add(uow, new("r1"))
    async with uow(write=True) as confirm, uow(write=True) as release:
        assert await confirm.reservations.transition("r1", RESERVED, SOLD)
        assert await release.reservations.transition("r1", RESERVED, RELEASED)
        outcomes = await asyncio.gather(confirm.commit(), release.commit(), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "RetryableConflict"]
    won = SOLD if outcomes[0] is None else RELEASED
    async with uow() as tx:
        assert (await tx.reservations.get_many(["r1"]))["r1"].status is won
    assert not await move(uow, "r1", RESERVED, RELEASED if won is SOLD else SOLD)  # the retry


async def test_many_concurrent_releases_move_it_once(uow: DynamoUnitOfWorkFactory) -> None:
    await add(uow, new("r1"))

    async def release() -> bool:
        for _ in range(10):  # as `with_retries` runs the unit of work again
            try:
                return await move(uow, "r1", RESERVED, RELEASED)
            except RetryableConflict:
                continue
        raise AssertionError("never settled")

    moved = await asyncio.gather(*(release() for _ in range(6)))
    assert moved.count(True) == 1


async def test_moves_in_the_unit_of_work_that_made_it_or_twice_in_one(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    async with uow(write=True) as tx:
        await tx.reservations.add_many([new("made-and-sold")])
        assert await tx.reservations.transition("made-and-sold", RESERVED, SOLD)
        await tx.commit()
    await add(uow, new("twice"), new("raced"))
    async with uow(write=True) as tx:
        assert await tx.reservations.transition("twice", RESERVED, SOLD)
        assert await tx.reservations.transition("twice", SOLD, RELEASED)
        assert not await tx.reservations.transition("twice", RESERVED, SOLD)
        await tx.commit()
    async with uow() as tx:
        found = await tx.reservations.get_many(["made-and-sold", "twice"])
    assert found["made-and-sold"].status is SOLD and found["twice"].status is RELEASED
    # Two moves in one unit of work are conditioned on the status first read.
    async with uow(write=True) as tx:
        assert await tx.reservations.transition("raced", RESERVED, SOLD)
        assert await tx.reservations.transition("raced", SOLD, RELEASED)
        assert await move(uow, "raced", RESERVED, SOLD)  # another process, meanwhile
        with pytest.raises(RetryableConflict):
            await tx.commit()
    async with uow() as tx:
        assert (await tx.reservations.get_many(["raced"]))["raced"].status is SOLD


async def test_due_are_the_reserved_ones_past_their_time_soonest_first(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    await add(
        uow,
        new("late", minutes=-1),
        new("b-tie", minutes=-20),
        new("a-tie", minutes=-20),
        new("soonest", minutes=-30),
        new("sold", minutes=-40),
        new("released", minutes=-50),
        new("future", minutes=10),
    )
    assert await move(uow, "sold", RESERVED, SOLD)
    assert await move(uow, "released", RESERVED, RELEASED)
    async with uow() as tx:
        assert await tx.reservations.due(before=NOW, limit=10) == [
            "soonest",
            "a-tie",
            "b-tie",
            "late",
        ]
        assert await tx.reservations.due(before=NOW, limit=2) == ["soonest", "a-tie"]
        assert await tx.reservations.due(before=NOW - timedelta(minutes=20), limit=10) == [
            "soonest"
        ]  # `before` itself is not before
        assert await tx.reservations.due(before=NOW - timedelta(hours=1), limit=10) == []
        assert len(await tx.reservations.due(before=NOW + timedelta(hours=1), limit=10)) == 5


async def test_due_skips_what_the_index_has_not_caught_up_with(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    """The index is eventually consistent: an entry it still holds as reserved is read again."""
    await add(uow, new("r1", minutes=-5), new("r2", minutes=-4))
    assert await move(uow, "r1", RESERVED, SOLD)
    stale = reservation_key("r1")
    await uow.client.call(  # r1 back in the reserved partition, as a lagging index holds it
        "update_item",
        TableName=uow.client.table,
        Key={"PK": {"S": stale[0]}, "SK": {"S": stale[1]}},
        UpdateExpression="SET GSI2PK = :reserved",
        ExpressionAttributeValues={":reserved": {"S": "RESERVATIONS#reserved"}},
    )
    async with uow() as tx:
        assert await tx.reservations.due(before=NOW, limit=10) == ["r2"]


async def test_units_are_the_reserved_and_sold_per_product(uow: DynamoUnitOfWorkFactory) -> None:
    async with uow() as tx:
        assert await tx.reservations.units() == {}
    await add(
        uow,
        new("a", line(1, 2), line(2, 1)),
        new("b", line(1, 3)),
        new("c", line(2, 4), line(3, 5)),
        new("d", line(4, 7)),
    )
    assert await move(uow, "b", RESERVED, SOLD)
    assert await move(uow, "c", RESERVED, SOLD)
    assert await move(uow, "c", SOLD, RELEASED)  # refunded: back in stock
    assert await move(uow, "d", RESERVED, RELEASED)
    async with uow() as tx:
        assert await tx.reservations.units() == {1: (2, 3), 2: (1, 0)}


async def test_an_order_keeps_its_reservation_id(uow: DynamoUnitOfWorkFactory) -> None:
    async with uow(write=True) as tx:
        user = await tx.users.add(email="a@b.co", name="A", role=Role.CUSTOMER, password_hash="h")
        lines = (OrderLine(1, "Mug", 1, Decimal("5.00")),)
        placed = await tx.orders.add_many(
            [
                NewOrder(user.id, lines, Decimal("5.00"), reservation_id="u1:key-a"),
                NewOrder(user.id, lines, Decimal("5.00")),
            ]
        )
        await tx.commit()
    assert [order.reservation_id for order in placed] == ["u1:key-a", None]
    async with uow() as tx:
        found = [await tx.orders.get(order.id) for order in placed]
        listed = await tx.orders.list_for_user(user.id, limit=10, offset=0)
    assert [order.reservation_id for order in found if order] == ["u1:key-a", None]
    assert sorted(o.reservation_id or "" for o in listed) == ["", "u1:key-a"]


async def test_a_reservation_is_held_by_one_order_at_most(uow: DynamoUnitOfWorkFactory) -> None:
    """orders.reservation_id is unique, as the SQL schema's constraint makes it: a lookup item
    per reservation, put on the condition that it does not exist, in the order's transaction."""
    lines = (OrderLine(1, "Mug", 1, Decimal("5.00")),)
    async with uow(write=True) as tx:
        user = await tx.users.add(email="a@b.co", name="A", role=Role.CUSTOMER, password_hash="h")
        [first] = await tx.orders.add_many(
            [NewOrder(user.id, lines, Decimal("5.00"), reservation_id="o-held")]
        )
        await tx.commit()
    with pytest.raises(RetryableConflict):  # another transaction, the same reservation
        async with uow(write=True) as tx:
            await tx.orders.add_many(
                [NewOrder(user.id, lines, Decimal("5.00"), reservation_id="o-held")]
            )
            await tx.commit()
    with pytest.raises(RetryableConflict):  # twice in one group
        async with uow(write=True) as tx:
            await tx.orders.add_many(
                [NewOrder(user.id, lines, Decimal("5.00"), reservation_id="o-twice")] * 2
            )
            await tx.commit()
    async with uow() as tx:
        listed = await tx.orders.list_for_user(user.id, limit=10, offset=0)
        holder = await tx.orders.by_reservation("o-held")
        nobody = await tx.orders.by_reservation("o-twice")
    assert [order.id for order in listed] == [first.id]  # neither refused order was written
    assert holder == first and nobody is None


# --- the stock use cases on the table ---------------------------------------------------------


def catalog_cache() -> CatalogCache:
    return CatalogCache(MemoryCache(), ttl_seconds=60, metrics=FakeMetrics())


async def products(uow: DynamoUnitOfWorkFactory, *stocks: int) -> list[int]:
    async with uow(write=True) as tx:
        added = [
            await tx.products.add(NewProduct(f"P{i}", Decimal("3.00"), "d", "kitchen", units))
            for i, units in enumerate(stocks)
        ]
        await tx.commit()
    return [product.id for product in added]


async def books(uow: DynamoUnitOfWorkFactory, product_ids: list[int]) -> list[int]:
    """Per product: stock + reserved + sold units (what the shop received)."""
    async with uow() as tx:
        found = await tx.products.get_many(product_ids)
        units = await tx.reservations.units()
    return [found[p].stock_quantity + sum(units.get(p, (0, 0))) for p in product_ids]


async def test_reserve_confirm_release_keep_the_stock_invariant(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    mug, pen = await products(uow, 5, 2)
    cache = catalog_cache()

    async def reserve(*requests: ReservationRequest) -> list[object]:
        answers = await stock.reserve_many(
            uow, requests, cache=cache, reservation_minutes=30, now=NOW
        )
        return list(answers)

    first, refused = await reserve(
        ReservationRequest("a", {mug: 2, pen: 1}), ReservationRequest("b", {pen: 2})
    )
    assert isinstance(first, Reservation) and type(refused).__name__ == "OutOfStock"
    (again,) = await reserve(ReservationRequest("a", {mug: 2, pen: 1}))  # a retry: nothing taken
    assert again == first
    assert await books(uow, [mug, pen]) == [5, 2]
    async with uow() as tx:
        assert await tx.reservations.units() == {mug: (2, 0), pen: (1, 0)}
    sold = await stock.confirm(uow, "a")
    assert sold.status is SOLD and await stock.confirm(uow, "a") == sold
    released = await stock.release(uow, "a", cache=cache, reason="refund")
    assert released is not None and released.status is RELEASED
    assert await stock.release(uow, "a", cache=cache) == released  # once
    async with uow() as tx:
        found = await tx.products.get_many([mug, pen])
        assert await tx.reservations.units() == {}
    assert [found[mug].stock_quantity, found[pen].stock_quantity] == [5, 2]


async def test_the_sweep_releases_reservations_of_one_product_in_one_write_each(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    """Two expired reservations of one product give back their units in one write of the sum
    (one transaction takes an item once)."""
    mug, pen = await products(uow, 10, 10)
    cache = catalog_cache()
    past = NOW - timedelta(hours=1)
    await stock.reserve_many(
        uow,
        [
            ReservationRequest("a", {mug: 2}),
            ReservationRequest("b", {mug: 3, pen: 1}),
            ReservationRequest("c", {pen: 4}),
        ],
        cache=cache,
        reservation_minutes=30,
        now=past,
    )
    assert await stock.expire_due(uow, cache=cache, now=NOW) == 3
    assert await stock.expire_due(uow, cache=cache, now=NOW) == 0
    assert await books(uow, [mug, pen]) == [10, 10]
    async with uow() as tx:
        found = await tx.products.get_many([mug, pen])
        gone = await tx.reservations.get_many(["a", "b", "c"])
    assert [found[mug].stock_quantity, found[pen].stock_quantity] == [10, 10]
    assert {r.status for r in gone.values()} == {RELEASED}


async def test_due_names_no_more_than_one_transaction_can_release(
    uow: DynamoUnitOfWorkFactory,
) -> None:
    """Each due reservation is a write, and so is each of its products and the outbox record:
    past MAX_ITEMS the sweep would be refused whole, so the rest wait for its next batch."""
    ids = await products(uow, 100, *([10] * 59))
    cache = catalog_cache()
    past = NOW - timedelta(hours=1)
    requests = [ReservationRequest(f"r{i:02d}", {ids[0]: 1, ids[i]: 1}) for i in range(1, 60)]
    for start in range(0, len(requests), 30):
        await stock.reserve_many(
            uow, requests[start : start + 30], cache=cache, reservation_minutes=30, now=past
        )
    async with uow() as tx:
        assert len(await tx.reservations.due(before=NOW, limit=10)) == 10
        due = await tx.reservations.due(before=NOW, limit=100)
    # 49 reservations of 50 products and the outbox record fill one transaction.
    assert MAX_ITEMS == 49 + 50 + 1 and due == [request.id for request in requests[:49]]
    assert await stock.expire_due(uow, cache=cache, now=NOW) == 49
    assert await stock.expire_due(uow, cache=cache, now=NOW) == 10
    assert await books(uow, ids) == [100] + [10] * 59
