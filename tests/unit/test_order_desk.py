"""Group commit: orders that arrive together share one transaction, and settle one by one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from cloudmall.domain.errors import OutOfStock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits, PlacedOrder
from cloudmall.services.ports import DatabaseUnavailable, UnitOfWork
from tests.unit.contexts import stock_desk
from tests.unit.fakes import FakeMetrics, FakeStore, RecordingTracer, customer

pytestmark = pytest.mark.anyio


def desk_over(uow: object, cache: CatalogCache, metrics: FakeMetrics) -> OrderDesk:
    return OrderDesk(uow=uow, stock=stock_desk(uow, cache), metrics=metrics, limits=OrderLimits())  # type: ignore[arg-type]


class GatedStore:
    """Units of work over `store` that start once `gate` is set (or fail with `error`)."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.gate = asyncio.Event()
        self.error: Exception | None = None

    @asynccontextmanager
    async def __call__(self, *, write: bool = False) -> AsyncIterator[UnitOfWork]:
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        async with self.store(write=write) as tx:
            yield tx


async def buy(
    desk: OrderDesk, product_id: int, *, user: int = 1000, key: str | None = None
) -> PlacedOrder | str:
    try:
        return await desk.place(
            principal=customer(user),
            items=[(product_id, 1)],
            client_total=None,
            idempotency_key=key,
        )
    except OutOfStock:
        return "out"


async def test_orders_that_arrive_together_share_one_commit(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=20, price="10.00")
    desk = desk_over(store, catalog_cache, metrics)
    before = store.commits
    placed = await asyncio.gather(*(buy(desk, mug.id, user=u, key=f"k{u}") for u in range(10)))
    # One commit of the products context (the group's reservations), one of the orders context.
    assert store.commits == before + 2
    assert ("order_group", (10, "committed")) in metrics.events
    assert [p.order.user_id for p in placed if isinstance(p, PlacedOrder)] == list(range(10))
    assert len({p.order.id for p in placed if isinstance(p, PlacedOrder)}) == 10
    assert store.data.products[mug.id].stock_quantity == 10
    assert metrics.count("order") == 10


async def test_a_group_checks_its_orders_in_arrival_order(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=2, price="10.00")
    desk = desk_over(store, catalog_cache, metrics)
    before = store.commits
    results = await asyncio.gather(*(buy(desk, mug.id) for _ in range(4)))
    assert [isinstance(r, PlacedOrder) for r in results] == [True, True, False, False]
    assert results[2:] == ["out", "out"] and store.commits == before + 2
    assert store.data.products[mug.id].stock_quantity == 0
    assert metrics.count("stock_out") == 2


async def test_a_retry_in_a_group_gets_its_first_answer(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=10, price="10.00")
    desk = desk_over(store, catalog_cache, metrics)
    first = await buy(desk, mug.id, key="taken")
    assert isinstance(first, PlacedOrder)
    before = store.commits
    retry, new = await asyncio.gather(buy(desk, mug.id, key="taken"), buy(desk, mug.id, key="new"))
    assert ("order_group", (2, "committed")) in metrics.events and store.commits == before + 2
    assert isinstance(retry, PlacedOrder) and retry.replayed and retry.order == first.order
    assert isinstance(new, PlacedOrder) and not new.replayed
    assert store.data.products[mug.id].stock_quantity == 8


async def test_a_group_the_database_refuses_is_placed_order_by_order(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=10, price="10.00")
    desk = desk_over(store, catalog_cache, metrics)
    # The same new key twice in one group: its INSERT of keys fails, the group goes back.
    one, two, other = await asyncio.gather(
        buy(desk, mug.id, key="twice"), buy(desk, mug.id, key="twice"), buy(desk, mug.id)
    )
    assert ("order_group", (3, "placed_alone")) in metrics.events
    assert isinstance(one, PlacedOrder) and isinstance(two, PlacedOrder)
    assert one.order == two.order and [one.replayed, two.replayed] == [False, True]
    assert isinstance(other, PlacedOrder) and other.order.id != one.order.id
    assert store.data.products[mug.id].stock_quantity == 8


async def test_an_unreachable_database_fails_the_group_and_the_next_one_starts_afresh(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=10, price="10.00")
    database = GatedStore(store)
    database.gate.set()
    database.error = DatabaseUnavailable("down")
    desk = desk_over(database, catalog_cache, metrics)
    results = await asyncio.gather(*(buy(desk, mug.id) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, DatabaseUnavailable) for r in results)
    assert ("order_group", (3, "unavailable")) in metrics.events
    database.error = None  # the database is back
    assert isinstance(await buy(desk, mug.id), PlacedOrder)
    assert store.data.products[mug.id].stock_quantity == 9


async def test_orders_waiting_on_an_unreachable_database_get_its_answer_at_once(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=10, price="10.00")
    database = GatedStore(store)
    database.error = DatabaseUnavailable("no answer within 5 s")
    desk = desk_over(database, catalog_cache, metrics)
    first = asyncio.create_task(buy(desk, mug.id))
    await asyncio.sleep(0.01)  # its transaction waits for the database
    later = [asyncio.create_task(buy(desk, mug.id, user=u)) for u in range(3)]
    await asyncio.sleep(0.01)
    database.gate.set()  # the deadline: the first group fails, and so do the orders waiting
    results = await asyncio.gather(first, *later, return_exceptions=True)
    assert all(isinstance(r, DatabaseUnavailable) for r in results)
    assert [e[1] for e in metrics.events if e[0] == "order_group"] == [(1, "unavailable")]


async def test_orders_waiting_for_a_transaction_form_the_next_group(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=10, price="10.00")
    database = GatedStore(store)
    desk = desk_over(database, catalog_cache, metrics)
    first = asyncio.create_task(buy(desk, mug.id))
    await asyncio.sleep(0.01)  # its transaction has started and waits at the gate
    later = [asyncio.create_task(buy(desk, mug.id, user=u)) for u in range(3)]
    cancelled = asyncio.create_task(buy(desk, mug.id, user=99))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    database.gate.set()
    await asyncio.gather(first, *later)
    assert [e[1][0] for e in metrics.events if e[0] == "order_group"] == [1, 3]  # type: ignore[index]
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert store.data.products[mug.id].stock_quantity == 6  # the cancelled one took nothing
    assert all(order.user_id != 99 for order in store.data.orders.values())


async def test_a_refused_order_sent_twice_with_a_key_is_refused_twice(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=1, price="10.00")
    desk = desk_over(store, catalog_cache, metrics)
    assert isinstance(await buy(desk, mug.id), PlacedOrder)
    assert await buy(desk, mug.id, key="late") == "out"
    assert await buy(desk, mug.id, key="late") == "out"
    assert metrics.count("stock_out") == 2  # once per answer, though each met it twice
    assert store.data.products[mug.id].stock_quantity == 0


async def test_a_groups_span_is_its_first_requests_and_links_the_others(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=20, price="10.00")
    tracer = RecordingTracer()
    desk = OrderDesk(
        uow=store,
        stock=stock_desk(store, catalog_cache),
        metrics=metrics,
        limits=OrderLimits(),
        tracer=tracer,
    )

    async def traced_buy(user: int) -> PlacedOrder | str:
        tracer.request.set(f"request-{user}")  # this task's own context
        return await buy(desk, mug.id, user=user)

    await asyncio.gather(*(traced_buy(u) for u in range(3)))
    assert tracer.spans == [
        ("order group", {"cloudmall.order_group.size": 3}, "request-0", ["request-1", "request-2"])
    ]
