"""The database adapters on each real store (every SQL backend, and DynamoDB on the moto
server): conditional updates, constraints, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain.errors import CategoryNotEmpty, EmailTaken, OutOfStock
from cloudmall.domain.orders import OrderLine, OrderStatus
from cloudmall.domain.users import Role
from cloudmall.services import catalog, categories, orders
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.ports import (
    NO_LIST_PRICE,
    NewIdempotencyRecord,
    NewOrder,
    NewProduct,
    Principal,
    ProductChanges,
    ProductQuery,
    RetryableConflict,
    UnitOfWorkFactory,
)
from tests.unit.contexts import stock_desk
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio


async def new_user(uow: UnitOfWorkFactory, email: str = "a@b.co") -> int:
    async with uow(write=True) as tx:
        user = await tx.users.add(email=email, name="A", role=Role.CUSTOMER, password_hash="h")
        await tx.commit()
    return user.id


async def new_product(uow: UnitOfWorkFactory, stock: int, price: str = "1234.50") -> int:
    async with uow(write=True) as tx:
        product = await tx.products.add(NewProduct("Mug", Decimal(price), "d", "kitchen", stock))
        await tx.commit()
    return product.id


def order_desk(uow: UnitOfWorkFactory) -> OrderDesk:
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
    return OrderDesk(
        uow=uow, stock=stock_desk(uow, cache), metrics=FakeMetrics(), limits=orders.OrderLimits()
    )


async def test_products_round_trip_with_exact_prices(uow: UnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 3, "99999999.99")
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.price == Decimal("99999999.99")
        assert product.created_at.tzinfo is not None
        page = await tx.products.search(ProductQuery(search="MUG", limit=10))
        assert [p.id for p in page] == [product_id]
        assert await tx.products.search(ProductQuery(search="100%", limit=10)) == []


async def test_locked_stock_never_goes_below_zero(uow: UnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 2)
    with pytest.raises(RetryableConflict):
        async with uow(write=True) as tx:
            await tx.products.get_many([product_id], lock=True)
            await tx.products.take_locked_stock({product_id: 3})
    async with uow(write=True) as tx:
        await tx.products.get_many([product_id], lock=True)
        await tx.products.take_locked_stock({product_id: 2})
        await tx.commit()
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.stock_quantity == 0


async def test_locked_stock_is_taken_from_each_product_or_from_none(
    uow: UnitOfWorkFactory,
) -> None:
    a, b, c = [await new_product(uow, units) for units in (5, 5, 1)]
    with pytest.raises(RetryableConflict):  # c would fall below zero: a and b keep theirs too
        async with uow(write=True) as tx:
            await tx.products.get_many([a, b, c], lock=True)
            await tx.products.take_locked_stock({a: 1, b: 2, c: 2})
            await tx.commit()
    async with uow(write=True) as tx:
        await tx.products.get_many([a, b, c], lock=True)
        await tx.products.take_locked_stock({b: 4, a: 2, c: 1})
        await tx.commit()
    async with uow() as tx:
        left = await tx.products.get_many([a, b, c])
        assert {pid: left[pid].stock_quantity for pid in (a, b, c)} == {a: 3, b: 1, c: 0}


async def test_uncommitted_work_is_rolled_back(uow: UnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 2)
    async with uow(write=True) as tx:
        await tx.products.take_locked_stock({product_id: 2})
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.stock_quantity == 2


async def test_emails_are_unique(uow: UnitOfWorkFactory) -> None:
    await new_user(uow, "kim@example.com")
    with pytest.raises(EmailTaken):
        await new_user(uow, "kim@example.com")


async def test_accounts_are_read_together_and_missing_ones_left_out(
    uow: UnitOfWorkFactory,
) -> None:
    kim = await new_user(uow, "kim@example.com")
    lee = await new_user(uow, "lee@example.com")
    async with uow() as tx:
        found = await tx.users.get_many({kim, lee, lee + 1000})
        assert await tx.users.get_many(set()) == {}
    assert {user_id: user.email for user_id, user in found.items()} == {
        kim: "kim@example.com",
        lee: "lee@example.com",
    }


async def test_orders_transitions_and_idempotency_records(uow: UnitOfWorkFactory) -> None:
    user_id = await new_user(uow)
    product_id = await new_product(uow, 5)
    line = OrderLine(product_id, "Mug", 2, Decimal("1234.50"))
    async with uow(write=True) as tx:
        order = (await tx.orders.add_many([NewOrder(user_id, (line,), Decimal("2469.00"))]))[0]
        await tx.idempotency.save_many([NewIdempotencyRecord(user_id, "order", "k", "f", "{}")])
        await tx.commit()
    async with uow(write=True) as tx:
        assert await tx.orders.transition(order.id, OrderStatus.PENDING, OrderStatus.PAID)
        assert not await tx.orders.transition(order.id, OrderStatus.PENDING, OrderStatus.CANCELLED)
        await tx.commit()
    async with uow() as tx:
        stored = await tx.orders.get(order.id)
        assert stored is not None and stored.status is OrderStatus.PAID and stored.lines == (line,)
        assert stored.created_at == order.created_at  # microseconds survive on every backend
        assert (await tx.idempotency.get(user_id=user_id, scope="order", key="k")) is not None
    with pytest.raises(RetryableConflict):
        async with uow(write=True) as tx:
            await tx.idempotency.save_many([NewIdempotencyRecord(user_id, "order", "k", "g", "{}")])


async def test_a_claimed_key_is_completed_released_or_taken_over_once(
    uow: UnitOfWorkFactory,
) -> None:
    user_id = await new_user(uow)
    key = {"user_id": user_id, "scope": "payment:1", "key": "k"}

    async def in_own_transaction(action):  # type: ignore[no-untyped-def]
        async with uow(write=True) as tx:
            done = await action(tx.idempotency)
            await tx.commit()
        return done

    assert await in_own_transaction(lambda repo: repo.claim(**key, fingerprint="f"))
    assert not await in_own_transaction(lambda repo: repo.claim(**key, fingerprint="f"))
    async with uow() as tx:
        record = await tx.idempotency.get(**key)
    assert record is not None and record.in_progress and record.created_at is not None
    # Not stale yet; then stale: taken over once.
    assert not await in_own_transaction(
        lambda repo: repo.take_over(**key, claimed_before=record.created_at)
    )
    later = record.created_at + timedelta(microseconds=1)  # before the take-over's own time
    assert await in_own_transaction(lambda repo: repo.take_over(**key, claimed_before=later))
    assert not await in_own_transaction(lambda repo: repo.take_over(**key, claimed_before=later))
    # Released, claimed again, completed: then neither release nor a second completion applies.
    await in_own_transaction(lambda repo: repo.release(**key))
    assert await in_own_transaction(lambda repo: repo.claim(**key, fingerprint="g"))
    await in_own_transaction(lambda repo: repo.complete(**key, response='{"ok": 1}'))
    await in_own_transaction(lambda repo: repo.release(**key))
    with pytest.raises(RetryableConflict):
        await in_own_transaction(lambda repo: repo.complete(**key, response="{}"))
    async with uow() as tx:
        record = await tx.idempotency.get(**key)
    assert record is not None and record.response == '{"ok": 1}' and record.fingerprint == "g"


async def test_fifty_concurrent_orders_for_ten_units(uow: UnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 10, "100")
    users = [await new_user(uow, f"u{i}@b.co") for i in range(50)]
    desk = order_desk(uow)

    async def buy(user_id: int) -> str:
        try:
            await desk.place(
                principal=Principal(user_id, Role.CUSTOMER),
                items=[(product_id, 1)],
                client_total=None,
                idempotency_key=None,
            )
        except OutOfStock:
            return "out"
        return "ok"

    results = await asyncio.gather(*(buy(user) for user in users))
    assert results.count("ok") == 10 and results.count("out") == 40
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.stock_quantity == 0


async def test_opposite_order_carts_do_not_deadlock(uow: UnitOfWorkFactory) -> None:
    a, b = await new_product(uow, 1000, "1"), await new_product(uow, 1000, "1")
    user_id = await new_user(uow)
    desk = order_desk(uow)

    async def buy(items: list[tuple[int, int]]) -> None:
        await desk.place(
            principal=Principal(user_id, Role.CUSTOMER),
            items=items,
            client_total=None,
            idempotency_key=None,
        )

    await asyncio.gather(*(buy([(a, 1), (b, 1)] if i % 2 else [(b, 1), (a, 1)]) for i in range(40)))
    async with uow() as tx:
        found = await tx.products.get_many([a, b])
    assert found[a].stock_quantity == found[b].stock_quantity == 960


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "mysql-8-no-returning"])
async def test_orders_inserted_together_keep_their_own_ids_and_lines(
    sql_uow: SqlUnitOfWorkFactory, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQL only: MySQL 8 has no INSERT … RETURNING, there the orders go in one INSERT each.
    # (DynamoDB's add_many is covered by the group tests below.)
    uow = sql_uow
    dialect = uow.engine.dialect
    monkeypatch.setattr(dialect, "insert_executemany_returning_sort_by_parameter_order", returning)
    user_id = await new_user(uow)
    a, b = await new_product(uow, 5), await new_product(uow, 5)
    wanted = [
        NewOrder(user_id, (OrderLine(a, "Mug", 1, Decimal("1.00")),), Decimal("1.00")),
        NewOrder(
            user_id,
            (OrderLine(a, "Mug", 2, Decimal("1.00")), OrderLine(b, "Mug", 3, Decimal("2.00"))),
            Decimal("8.00"),
        ),
        NewOrder(user_id, (OrderLine(b, "Mug", 4, Decimal("2.00")),), Decimal("8.00")),
    ]
    async with uow(write=True) as tx:
        added = await tx.orders.add_many(wanted)
        await tx.commit()
    assert [order.id for order in added] == sorted({order.id for order in added})
    async with uow() as tx:
        for order, new in zip(added, wanted, strict=True):
            stored = await tx.orders.get(order.id)
            assert stored is not None
            assert (stored.lines, stored.total_amount) == (new.lines, new.total)


async def test_a_taken_key_refuses_every_record_saved_with_it(uow: UnitOfWorkFactory) -> None:
    user_id = await new_user(uow)

    def record(key: str) -> NewIdempotencyRecord:
        return NewIdempotencyRecord(user_id, "order", key, "f", "{}")

    async with uow(write=True) as tx:
        await tx.idempotency.save_many([record("a")])
        await tx.commit()
    with pytest.raises(RetryableConflict):
        async with uow(write=True) as tx:
            await tx.idempotency.save_many([record("b"), record("a")])
            await tx.commit()
    async with uow() as tx:
        assert await tx.idempotency.get(user_id=user_id, scope="order", key="b") is None
        found = await tx.idempotency.get_many(scope="order", keys=[(user_id, "a"), (user_id, "b")])
        single = await tx.idempotency.get(user_id=user_id, scope="order", key="a")
    assert list(found) == [(user_id, "a")] and found[(user_id, "a")] == single


async def test_concurrent_orders_share_one_transaction_and_replay_alone(
    uow: UnitOfWorkFactory,
) -> None:
    products = [await new_product(uow, 100, "10") for _ in range(3)]
    users = [await new_user(uow, f"g{i}@b.co") for i in range(30)]
    transactions = 0

    def counting(*, write: bool = False):  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += write
        return uow(write=write)

    desk = order_desk(uow)
    desk._uow = counting

    async def buy(i: int) -> tuple[int, bool]:
        placed = await desk.place(
            principal=Principal(users[i], Role.CUSTOMER),
            items=[(products[i % 3], 1 + i % 2), (products[(i + 1) % 3], 1)],
            client_total=None,
            idempotency_key=f"key-{i}",
        )
        return placed.order.id, placed.replayed

    first = await asyncio.gather(*(buy(i) for i in range(30)))
    assert transactions == 1 and not any(replayed for _, replayed in first)
    assert len({order_id for order_id, _ in first}) == 30
    again = await asyncio.gather(*(buy(i) for i in range(30)))
    assert again == [(order_id, True) for order_id, _ in first]
    async with uow() as tx:
        left = await tx.products.get_many(products)
        for i, (order_id, _) in enumerate(first):
            order = await tx.orders.get(order_id)
            assert order is not None and order.user_id == users[i]
            assert {line.product_id: line.quantity for line in order.lines} == {
                products[i % 3]: 1 + i % 2,
                products[(i + 1) % 3]: 1,
            }
    taken = sum(1 + i % 2 for i in range(30)) + 30
    assert sum(100 - product.stock_quantity for product in left.values()) == taken


async def test_refusals_in_a_group_leave_the_others_placed(uow: UnitOfWorkFactory) -> None:
    scarce = await new_product(uow, 3, "10")
    plenty = await new_product(uow, 100, "10")
    user_id = await new_user(uow)
    desk = order_desk(uow)
    earlier = await desk.place(
        principal=Principal(user_id, Role.CUSTOMER),
        items=[(plenty, 1)],
        client_total=None,
        idempotency_key="earlier",
    )

    async def buy(product_id: int, key: str | None) -> str:
        try:
            placed = await desk.place(
                principal=Principal(user_id, Role.CUSTOMER),
                items=[(product_id, 1)],
                client_total=None,
                idempotency_key=key,
            )
        except OutOfStock:
            return "out"
        return "replayed" if placed.replayed else "placed"

    # One group, checked in arrival order: the first three take the scarce units.
    results = await asyncio.gather(
        *(buy(scarce, None) for _ in range(5)), *(buy(plenty, f"new-{i}") for i in range(3))
    )
    assert results == ["placed"] * 3 + ["out"] * 2 + ["placed"] * 3
    # A retry gets its first answer; the same new key twice in one group sends that group's
    # orders each alone (its INSERT of keys fails), and one of the two is the other's replay.
    results = await asyncio.gather(buy(plenty, "earlier"), buy(plenty, "later"))
    assert results == ["replayed", "placed"]
    results = await asyncio.gather(buy(plenty, "twice"), buy(plenty, "twice"))
    assert sorted(results) == ["placed", "replayed"]
    async with uow() as tx:
        left = await tx.products.get_many([scarce, plenty])
        assert (left[scarce].stock_quantity, left[plenty].stock_quantity) == (0, 94)
        replay = await tx.orders.get(earlier.order.id)
        assert replay is not None and replay.lines == earlier.order.lines


async def test_catalogue_service_on_a_real_database(uow: UnitOfWorkFactory) -> None:
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
    living = await categories.add_category(uow=uow, cache=cache, name="리빙", name_en="Living")
    made = await catalog.create_product(
        uow=uow,
        cache=cache,
        name="Lamp",
        price="10",
        category="Living",
        name_en="Lamp",
        list_price="12.50",
    )
    assert made.category == "living" and made.list_price == Decimal("12.50")
    assert (made.category_name, made.category_name_en) == ("리빙", "Living")
    with pytest.raises(CategoryNotEmpty):
        await categories.delete_category(uow=uow, cache=cache, category_id=living.id)
    renamed = await categories.rename_category(
        uow=uow, cache=cache, category_id=living.id, name="생활", name_en="Home"
    )
    assert renamed.slug == "living" and renamed.products == 1
    ended = await catalog.update_product(
        uow=uow,
        cache=cache,
        product_id=made.id,
        changes=ProductChanges(list_price=NO_LIST_PRICE, name_en=""),
    )
    assert (ended.list_price, ended.name_en, ended.category_name_en) == (None, None, "Home")
    await catalog.delete_product(uow=uow, cache=cache, product_id=made.id)
    await categories.delete_category(uow=uow, cache=cache, category_id=living.id)
    async with uow() as tx:
        assert await tx.products.get(made.id) is None
        assert await tx.categories.list() == []


async def test_a_group_of_orders_sends_the_same_statements_however_many_it_holds(
    sql_uow: SqlUnitOfWorkFactory,
) -> None:
    """Eleven statements a group, in two transactions, whether it holds 8 orders or 16 (SQLite
    sends one INSERT per order: its ids come back in order only one row at a time)."""
    products = [await new_product(sql_uow, 1000, "10") for _ in range(3)]
    users = [await new_user(sql_uow, f"s{i}@b.co") for i in range(16)]
    desk = order_desk(sql_uow)
    sent: list[tuple[str, str]] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # (SELECT table.column, …; UPDATE table …; INSERT INTO table …)
        verb, *words = statement.split()
        if verb != "BEGIN":  # (SQLite's, sent as a statement)
            sent.append((verb, words[verb == "INSERT"].split(".")[0]))

    async def group(size: int, batch: str) -> list[tuple[str, str]]:
        sent.clear()
        placed = await asyncio.gather(
            *(
                desk.place(
                    principal=Principal(users[i], Role.CUSTOMER),
                    items=[(products[i % 3], 1), (products[(i + 1) % 3], 2)],
                    client_total=None,
                    idempotency_key=f"{batch}-{i}",
                )
                for i in range(size)
            )
        )
        assert not any(order.replayed for order in placed)
        return list(sent)

    event.listen(sql_uow.engine.sync_engine, "before_cursor_execute", record)
    eight, sixteen = await group(8, "eight"), await group(16, "sixteen")
    orders_inserts = 1 if sql_uow.engine.dialect.name != "sqlite" else 8
    assert eight == [
        ("SELECT", "stock_reservations"),  # reservations made before under these ids
        ("SELECT", "products"),  # locked
        ("UPDATE", "products"),
        ("INSERT", "stock_reservations"),
        ("INSERT", "stock_reservation_lines"),
        ("INSERT", "outbox_events"),
        ("SELECT", "idempotency_keys"),  # keys answered before
        *[("INSERT", "orders")] * orders_inserts,
        ("INSERT", "order_lines"),
        ("INSERT", "outbox_events"),
        ("INSERT", "idempotency_keys"),
    ]
    assert len(sixteen) == len(eight) + (0 if orders_inserts == 1 else 8)
