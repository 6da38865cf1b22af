"""Cancelling paid orders: the charge is refunded, and the units come back, once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from cloudmall.domain.delivery import DeliveryFees, Shipment
from cloudmall.domain.errors import (
    AddressRequired,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from cloudmall.domain.orders import OrderStatus
from cloudmall.domain.payments import PaymentStatus
from cloudmall.services import cancellation, orders, payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeMetrics, FakeStore, admin, customer

pytestmark = pytest.mark.anyio
LIMITS = orders.OrderLimits(fees=DeliveryFees(fee=Decimal("3000"), free_from=Decimal("50000")))


async def place(store, cache, metrics, product_id, quantity=2, address=HOME):  # type: ignore[no-untyped-def]
    desk = OrderDesk(uow=store, stock=stock_desk(store, cache), metrics=metrics, limits=LIMITS)
    placed = await desk.place(
        principal=customer(),
        items=[(product_id, quantity)],
        client_total=None,
        idempotency_key=None,
        address=address,
    )
    return placed.order


async def pay(store, metrics, gateway, order_id):  # type: ignore[no-untyped-def]
    return await payments.pay_order(
        uow=store,
        order_book=order_book(store),
        gateway=gateway,
        metrics=metrics,
        principal=customer(),
        order_id=order_id,
        card_number="4242 4242 4242 4242",
        expiry="12/49",
        cvc="123",
        currency="KRW",
        idempotency_key=None,
    )


def cancel(store, cache, metrics, gateway, order_id, principal=None):  # type: ignore[no-untyped-def]
    return cancellation.cancel_order(
        uow=store,
        stock=stock_desk(store, cache),
        payment_desk=payment_desk(store, gateway, metrics),
        principal=principal or customer(),
        order_id=order_id,
    )


def refund(store, cache, metrics, gateway, order_id, principal=None):  # type: ignore[no-untyped-def]
    return cancellation.refund_order(
        uow=store,
        stock=stock_desk(store, cache),
        payment_desk=payment_desk(store, gateway, metrics),
        principal=principal or admin(),
        order_id=order_id,
    )


async def test_an_order_is_charged_its_goods_and_the_delivery_fee(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5, price="12900")
    order = await place(store, catalog_cache, metrics, mug.id)
    assert (order.subtotal, order.delivery_fee, order.total_amount) == (
        Decimal("25800.00"),
        Decimal("3000.00"),
        Decimal("28800.00"),
    )
    gateway = FakeGateway()
    paid = await pay(store, metrics, gateway, order.id)
    assert gateway.charges == [Decimal("28800.00")] and paid.payment.amount == Decimal("28800.00")
    assert gateway.cards[0].expiry == "12/49" and gateway.cards[0].last4 == "4242"


async def test_an_order_without_an_address_is_not_paid_until_it_has_one(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    order = await place(store, catalog_cache, metrics, mug.id, address=None)
    assert order.address is None
    gateway = FakeGateway()
    with pytest.raises(AddressRequired):
        await pay(store, metrics, gateway, order.id)
    assert gateway.charges == []
    with pytest.raises(NotFound):  # another's order looks missing
        await orders.set_order_address(
            uow=store, principal=customer(2000), order_id=order.id, address=HOME
        )
    given = await orders.set_order_address(
        uow=store, principal=customer(), order_id=order.id, address=HOME
    )
    assert given.address == HOME
    assert (await pay(store, metrics, gateway, order.id)).order.status is OrderStatus.PAID


async def test_a_paid_order_cancelled_is_refunded_and_restocked_once(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    await pay(store, metrics, gateway, order.id)
    assert store.data.products[mug.id].stock_quantity == 3
    cancelled = await cancel(store, catalog_cache, metrics, gateway, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    again = await cancel(store, catalog_cache, metrics, gateway, order.id)  # a retry
    by_staff = await refund(store, catalog_cache, metrics, gateway, order.id)  # and staff too
    assert again == cancelled == by_staff
    assert gateway.refunds == ["ref-1"]
    assert store.data.products[mug.id].stock_quantity == 5
    [payment] = store.data.payments.values()
    assert payment.status is PaymentStatus.REFUNDED
    [refunded] = [e.event for e in store.data.outbox if e.event.type == "payment.refunded"]
    assert refunded.payload["user_id"] == order.user_id  # the refund's mail goes to the buyer
    restocked = [e.event for e in store.data.outbox if e.event.type == "product.stock_changed"]
    assert [(e.payload["delta"], e.payload["reason"]) for e in restocked] == [
        (-2, "order"),
        (2, "refund"),
    ]
    assert metrics.events.count(("payment", "refunded")) == 1


async def test_concurrent_refunds_refund_once(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    await pay(store, metrics, gateway, order.id)
    answers = await asyncio.gather(
        cancel(store, catalog_cache, metrics, gateway, order.id),
        refund(store, catalog_cache, metrics, gateway, order.id),
        cancel(store, catalog_cache, metrics, gateway, order.id),
    )
    assert {answer.status for answer in answers} == {OrderStatus.CANCELLED}
    assert gateway.refunds == ["ref-1"]
    assert store.data.products[mug.id].stock_quantity == 5


async def test_a_shipped_order_is_neither_cancelled_nor_refunded(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    await pay(store, metrics, gateway, order.id)
    for bad in (Shipment("dhl", "4123-5678-9012"), Shipment("hanjin", "12 34"), None):
        with pytest.raises(InvalidInput):
            await orders.advance_order(
                uow=store,
                principal=admin(),
                order_id=order.id,
                target=OrderStatus.SHIPPED,
                shipment=bad,
            )
    shipped = await orders.advance_order(
        uow=store,
        principal=admin(),
        order_id=order.id,
        target=OrderStatus.SHIPPED,
        shipment=Shipment("hanjin", " 4123-5678-9012 "),
    )
    event = store.data.outbox[-1].event
    assert event.type == "order.shipped"
    assert (event.payload["carrier"], event.payload["tracking_number"]) == (
        "hanjin",
        "4123-5678-9012",
    )
    assert shipped.shipment == Shipment("hanjin", "4123-5678-9012")
    with pytest.raises(InvalidTransition):
        await cancel(store, catalog_cache, metrics, gateway, order.id)
    with pytest.raises(InvalidTransition):
        await refund(store, catalog_cache, metrics, gateway, order.id)
    assert gateway.refunds == []
    assert store.data.products[mug.id].stock_quantity == 3


async def test_staff_refund_paid_orders_only_and_shipping_needs_an_address(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    pending = await place(store, catalog_cache, metrics, mug.id)
    gateway = FakeGateway()
    with pytest.raises(PermissionDenied):
        await refund(store, catalog_cache, metrics, gateway, pending.id, principal=customer())
    with pytest.raises(InvalidTransition, match="nothing to refund"):
        await refund(store, catalog_cache, metrics, gateway, pending.id)
    bare = await place(store, catalog_cache, metrics, mug.id, address=None)
    ship = orders.advance_order(
        uow=store,
        principal=admin(),
        order_id=bare.id,
        target=OrderStatus.SHIPPED,
        shipment=Shipment("cj", "6012-3456-7890"),
    )
    with pytest.raises(InvalidTransition):  # not paid comes first
        await ship
    # A paid order always has an address, but one paid before addresses existed has none.
    store.data.orders[bare.id] = replace(bare, status=OrderStatus.PAID)
    with pytest.raises(AddressRequired):
        await orders.advance_order(
            uow=store,
            principal=admin(),
            order_id=bare.id,
            target=OrderStatus.SHIPPED,
            shipment=Shipment("cj", "6012-3456-7890"),
        )


async def test_a_gateway_that_fails_to_refund_changes_nothing(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    class Unreachable(FakeGateway):
        async def refund(self, *, reference: str, amount: Decimal) -> None:
            raise ConnectionError("gateway down")

    mug = await add_product(stock=5)
    order = await place(store, catalog_cache, metrics, mug.id)
    gateway = Unreachable()
    await pay(store, metrics, gateway, order.id)
    with pytest.raises(ConnectionError):
        await cancel(store, catalog_cache, metrics, gateway, order.id)
    assert store.data.orders[order.id].status is OrderStatus.PAID
    assert store.data.products[mug.id].stock_quantity == 3
    [payment] = store.data.payments.values()
    assert payment.status is PaymentStatus.CAPTURED


async def test_a_key_reused_for_another_address_is_refused(
    store: FakeStore, catalog_cache: CatalogCache, metrics: FakeMetrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=5)
    desk = OrderDesk(
        uow=store, stock=stock_desk(store, catalog_cache), metrics=metrics, limits=LIMITS
    )

    def order(address):  # type: ignore[no-untyped-def]
        return desk.place(
            principal=customer(),
            items=[(mug.id, 1)],
            client_total=None,
            idempotency_key="k1",
            address=address,
        )

    first = await order(HOME)
    assert (await order(HOME)).replayed
    with pytest.raises(IdempotencyKeyReused):
        await order(replace(HOME, address2="13층"))
    with pytest.raises(IdempotencyKeyReused):
        await order(None)
    assert store.data.products[mug.id].stock_quantity == 4 and first.order.address == HOME
