"""Placing, paying, cancelling and moving orders, against fakes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cloudmall.domain.delivery import Shipment
from cloudmall.domain.errors import (
    IdempotencyKeyReused,
    InvalidTransition,
    NotFound,
    OrderLimitExceeded,
    OutOfStock,
    PaymentDeclined,
    PermissionDenied,
    TotalMismatch,
)
from cloudmall.domain.orders import OrderStatus
from cloudmall.domain.products import LOW_STOCK
from cloudmall.services import cancellation, catalog, orders, payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.media_links import MediaLinks
from cloudmall.services.order_desk import OrderDesk
from cloudmall.web.presentation import JsonCatalogPresenter
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeMetrics, FakeStore, admin, customer

pytestmark = pytest.mark.anyio
LINKS = MediaLinks("https://cdn.example.com")
PRESENT = JsonCatalogPresenter(LINKS)
LIMITS = orders.OrderLimits(max_lines=5, max_quantity=10, max_total=Decimal("100000"))


async def place(store: FakeStore, cache: CatalogCache, metrics: FakeMetrics, items, **kwargs):  # type: ignore[no-untyped-def]
    options = {
        "principal": customer(),
        "client_total": None,
        "idempotency_key": None,
        "address": HOME,
    }
    options.update(kwargs)
    desk = OrderDesk(uow=store, stock=stock_desk(store, cache), metrics=metrics, limits=LIMITS)
    return await desk.place(items=items, **options)


async def test_an_order_takes_stock_at_server_prices(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="3000.00")
    pen = await add_product(stock=2, price="500.50", name="Pen")
    placed = await place(
        store, catalog_cache, metrics, [(pen.id, 2), (mug.id, 1)], client_total=Decimal("4001.00")
    )
    assert placed.order.total_amount == Decimal("4001.00")
    assert [line.product_id for line in placed.order.lines] == sorted([mug.id, pen.id])
    assert store.data.products[mug.id].stock_quantity == 4
    assert store.data.products[pen.id].stock_quantity == 0
    assert metrics.count("order") == 1


async def test_a_different_client_total_is_refused_with_the_current_one(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="3000.00")
    with pytest.raises(TotalMismatch) as caught:
        await place(store, catalog_cache, metrics, [(mug.id, 1)], client_total=Decimal("2999.99"))
    assert caught.value.current == Decimal("3000.00")
    assert store.data.products[mug.id].stock_quantity == 5
    assert store.data.orders == {}


async def test_out_of_stock_takes_nothing(store, catalog_cache, metrics, add_product) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    pen = await add_product(stock=1, name="Pen")
    with pytest.raises(OutOfStock) as caught:
        await place(store, catalog_cache, metrics, [(mug.id, 2), (pen.id, 2)])
    assert caught.value.available == 1
    assert store.data.products[mug.id].stock_quantity == 5  # the first line was rolled back
    assert metrics.count("stock_out") == 1


async def test_unknown_products_and_limits(store, catalog_cache, metrics, add_product) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        await place(store, catalog_cache, metrics, [(999, 1)])
    mug = await add_product(stock=50, price="60000")
    with pytest.raises(OrderLimitExceeded, match="At most 10"):
        await place(store, catalog_cache, metrics, [(mug.id, 11)])
    with pytest.raises(OrderLimitExceeded, match="total can be at most"):
        await place(store, catalog_cache, metrics, [(mug.id, 2)])


async def test_idempotency_key_replays_the_first_answer_once(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    first = await place(store, catalog_cache, metrics, [(mug.id, 2)], idempotency_key="k1")
    second = await place(store, catalog_cache, metrics, [(mug.id, 2)], idempotency_key="k1")
    assert second.replayed and not first.replayed
    assert second.order == first.order
    assert len(store.data.orders) == 1
    assert store.data.products[mug.id].stock_quantity == 3
    with pytest.raises(IdempotencyKeyReused):
        await place(store, catalog_cache, metrics, [(mug.id, 1)], idempotency_key="k1")
    # The same key from another user is a different request.
    other = await place(
        store, catalog_cache, metrics, [(mug.id, 1)], idempotency_key="k1", principal=customer(2000)
    )
    assert not other.replayed and other.order.user_id == 2000


async def test_a_retry_replays_its_order_even_after_it_took_the_last_units(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=2)
    first = await place(store, catalog_cache, metrics, [(mug.id, 2)], idempotency_key="last")
    again = await place(store, catalog_cache, metrics, [(mug.id, 2)], idempotency_key="last")
    assert again.replayed and again.order == first.order
    assert store.data.products[mug.id].stock_quantity == 0 and len(store.data.orders) == 1
    with pytest.raises(IdempotencyKeyReused):  # a different body is still refused
        await place(store, catalog_cache, metrics, [(mug.id, 1)], idempotency_key="last")
    with pytest.raises(OutOfStock):  # and without the key, it is a new order
        await place(store, catalog_cache, metrics, [(mug.id, 2)])


async def test_a_sale_refreshes_a_product_page_only_when_few_units_are_left(
    store, cache, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=LOW_STOCK + 2)

    def page_cached() -> bool:
        return any(key.endswith(f":product:{mug.id}") for key in cache.entries)

    await catalog.product_detail(uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id)
    await place(store, catalog_cache, metrics, [(mug.id, 1)])  # LOW_STOCK + 1 left: plenty
    assert page_cached()
    await place(store, catalog_cache, metrics, [(mug.id, 1)])  # LOW_STOCK left: exact from now
    assert not page_cached()
    shown = await catalog.product_detail(
        uow=store, cache=catalog_cache, present=PRESENT, product_id=mug.id
    )
    assert json.loads(shown.body)["stock_quantity"] == LOW_STOCK


async def cancel(store, cache, metrics, order_id, principal=None, gateway=None):  # type: ignore[no-untyped-def]
    return await cancellation.cancel_order(
        uow=store,
        stock=stock_desk(store, cache),
        payment_desk=payment_desk(store, gateway or FakeGateway(), metrics),
        principal=principal or customer(),
        order_id=order_id,
    )


async def test_cancel_restocks_once_and_answers_again_as_it_is(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    placed = await place(store, catalog_cache, metrics, [(mug.id, 3)])
    cancelled = await cancel(store, catalog_cache, metrics, placed.order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert store.data.products[mug.id].stock_quantity == 3
    again = await cancel(store, catalog_cache, metrics, placed.order.id)
    assert again == cancelled
    assert store.data.products[mug.id].stock_quantity == 3


async def test_others_orders_look_missing_and_staff_moves_need_admin(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    placed = await place(store, catalog_cache, metrics, [(mug.id, 1)])
    with pytest.raises(NotFound):
        await orders.get_order(uow=store, principal=customer(2000), order_id=placed.order.id)
    with pytest.raises(NotFound):
        await cancel(store, catalog_cache, metrics, placed.order.id, customer(2000))
    with pytest.raises(PermissionDenied):
        await orders.advance_order(
            uow=store,
            principal=customer(),
            order_id=placed.order.id,
            target=OrderStatus.SHIPPED,
            shipment=Shipment("cj", "6012-3456-7890"),
        )
    with pytest.raises(InvalidTransition):  # not paid yet
        await orders.advance_order(
            uow=store,
            principal=admin(),
            order_id=placed.order.id,
            target=OrderStatus.SHIPPED,
            shipment=Shipment("cj", "6012-3456-7890"),
        )
    assert await orders.list_my_orders(uow=store, principal=customer(2000)) == []
    assert len(await orders.list_all_orders(uow=store, principal=admin())) == 1


async def pay(store, metrics, gateway, order_id, key=None, principal=None):  # type: ignore[no-untyped-def]
    return await payments.pay_order(
        uow=store,
        order_book=order_book(store),
        gateway=gateway,
        metrics=metrics,
        principal=principal or customer(),
        order_id=order_id,
        card_number="4242 4242 4242 4242",
        expiry="12/49",
        cvc="123",
        currency="KRW",
        idempotency_key=key,
    )


async def test_pay_then_ship_then_deliver(store, catalog_cache, metrics, add_product) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="2500")
    placed = await place(store, catalog_cache, metrics, [(mug.id, 2)])
    gateway = FakeGateway()
    paid = await pay(store, metrics, gateway, placed.order.id, key="p1")
    assert paid.order.status is OrderStatus.PAID and paid.payment.amount == Decimal("5000.00")
    replay = await pay(store, metrics, gateway, placed.order.id, key="p1")
    assert replay.replayed and replay.payment == paid.payment
    assert gateway.charges == [Decimal("5000.00")]  # charged once
    with pytest.raises(InvalidTransition):
        await pay(store, metrics, gateway, placed.order.id)
    shipment = Shipment("cj", "6012-3456-7890")
    for target in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        moved = await orders.advance_order(
            uow=store,
            principal=admin(),
            order_id=placed.order.id,
            target=target,
            shipment=shipment if target is OrderStatus.SHIPPED else None,
        )
        assert moved.status is target
        assert moved.shipment == shipment


async def test_a_declined_card_changes_nothing_but_its_intent(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    placed = await place(store, catalog_cache, metrics, [(mug.id, 1)])
    with pytest.raises(PaymentDeclined, match="card_declined"):
        await pay(store, metrics, FakeGateway(approve=False), placed.order.id)
    assert store.data.orders[placed.order.id].status is OrderStatus.PENDING
    assert [p.status.value for p in store.data.payments.values()] == ["declined"]


async def test_a_charge_for_an_order_cancelled_meanwhile_is_refunded(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3)
    placed = await place(store, catalog_cache, metrics, [(mug.id, 1)])

    class CancelWhileCharging(FakeGateway):
        async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
            result = await super().charge(**kwargs)
            await cancel(store, catalog_cache, metrics, placed.order.id)
            return result

    gateway = CancelWhileCharging()
    with pytest.raises(InvalidTransition):
        await pay(store, metrics, gateway, placed.order.id)
    assert gateway.refunds == ["ref-1"]
    assert store.data.orders[placed.order.id].status is OrderStatus.CANCELLED
    assert [p.status.value for p in store.data.payments.values()] == ["refunded"]
    assert store.data.products[mug.id].stock_quantity == 3
