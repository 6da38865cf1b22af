"""The SQL adapters on each real backend: conditional updates, constraints, concurrency."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain.errors import EmailTaken, OutOfStock
from cloudmall.domain.orders import OrderLine, OrderStatus
from cloudmall.domain.users import Role
from cloudmall.services import catalog, orders
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.ports import NewProduct, Principal, ProductQuery, RetryableConflict
from tests.unit.fakes import FakeMetrics

pytestmark = pytest.mark.anyio


async def new_user(uow: SqlUnitOfWorkFactory, email: str = "a@b.co") -> int:
    async with uow(write=True) as tx:
        user = await tx.users.add(email=email, name="A", role=Role.CUSTOMER, password_hash="h")
        await tx.commit()
    return user.id


async def new_product(uow: SqlUnitOfWorkFactory, stock: int, price: str = "1234.50") -> int:
    async with uow(write=True) as tx:
        product = await tx.products.add(NewProduct("Mug", Decimal(price), "d", "kitchen", stock))
        await tx.commit()
    return product.id


async def test_products_round_trip_with_exact_prices(uow: SqlUnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 3, "99999999.99")
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.price == Decimal("99999999.99")
        assert product.created_at.tzinfo is not None
        page = await tx.products.search(ProductQuery(search="MUG", limit=10))
        assert [p.id for p in page] == [product_id]
        assert await tx.products.search(ProductQuery(search="100%", limit=10)) == []


async def test_take_stock_is_conditional(uow: SqlUnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 2)
    async with uow(write=True) as tx:
        assert await tx.products.take_stock(product_id, 2)
        assert not await tx.products.take_stock(product_id, 1)
        await tx.commit()
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.stock_quantity == 0


async def test_uncommitted_work_is_rolled_back(uow: SqlUnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 2)
    async with uow(write=True) as tx:
        await tx.products.take_stock(product_id, 2)
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.stock_quantity == 2


async def test_emails_are_unique(uow: SqlUnitOfWorkFactory) -> None:
    await new_user(uow, "kim@example.com")
    with pytest.raises(EmailTaken):
        await new_user(uow, "kim@example.com")


async def test_orders_transitions_and_idempotency_records(uow: SqlUnitOfWorkFactory) -> None:
    user_id = await new_user(uow)
    product_id = await new_product(uow, 5)
    line = OrderLine(product_id, "Mug", 2, Decimal("1234.50"))
    async with uow(write=True) as tx:
        order = await tx.orders.add(user_id=user_id, lines=(line,), total=Decimal("2469.00"))
        await tx.idempotency.save(
            user_id=user_id, scope="order", key="k", fingerprint="f", response="{}"
        )
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
            await tx.idempotency.save(
                user_id=user_id, scope="order", key="k", fingerprint="g", response="{}"
            )


async def test_fifty_concurrent_orders_for_ten_units(uow: SqlUnitOfWorkFactory) -> None:
    product_id = await new_product(uow, 10, "100")
    users = [await new_user(uow, f"u{i}@b.co") for i in range(50)]
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())

    async def buy(user_id: int) -> str:
        try:
            await orders.place_order(
                uow=uow,
                cache=cache,
                metrics=FakeMetrics(),
                principal=Principal(user_id, Role.CUSTOMER),
                items=[(product_id, 1)],
                client_total=None,
                idempotency_key=None,
                limits=orders.OrderLimits(),
            )
        except OutOfStock:
            return "out"
        return "ok"

    results = await asyncio.gather(*(buy(user) for user in users))
    assert results.count("ok") == 10 and results.count("out") == 40
    async with uow() as tx:
        product = await tx.products.get(product_id)
        assert product is not None and product.stock_quantity == 0


async def test_opposite_order_carts_do_not_deadlock(uow: SqlUnitOfWorkFactory) -> None:
    a, b = await new_product(uow, 1000, "1"), await new_product(uow, 1000, "1")
    user_id = await new_user(uow)
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())

    async def buy(items: list[tuple[int, int]]) -> None:
        await orders.place_order(
            uow=uow,
            cache=cache,
            metrics=FakeMetrics(),
            principal=Principal(user_id, Role.CUSTOMER),
            items=items,
            client_total=None,
            idempotency_key=None,
            limits=orders.OrderLimits(),
        )

    await asyncio.gather(*(buy([(a, 1), (b, 1)] if i % 2 else [(b, 1), (a, 1)]) for i in range(40)))
    async with uow() as tx:
        found = await tx.products.get_many([a, b])
    assert found[a].stock_quantity == found[b].stock_quantity == 960


async def test_catalogue_service_on_a_real_database(uow: SqlUnitOfWorkFactory) -> None:
    cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
    made = await catalog.create_product(
        uow=uow, cache=cache, name="Lamp", price="10", category="Living"
    )
    assert made.category == "living"
    await catalog.delete_product(uow=uow, cache=cache, product_id=made.id)
    async with uow() as tx:
        assert await tx.products.get(made.id) is None
        assert await tx.products.categories() == []
