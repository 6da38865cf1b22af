"""Domain events: each change records its events with it, carrying the request that caused it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudmall.domain import events
from cloudmall.domain.errors import InvalidTransition, OutOfStock, PaymentDeclined
from cloudmall.services import cancellation, payments
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.request_context import current_request_id
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeStore, customer

pytestmark = pytest.mark.anyio


def recorded(store: FakeStore) -> list[str]:
    return [entry.event.type for entry in store.data.outbox]


async def place(store, catalog_cache, metrics, product_id, quantity=1):  # type: ignore[no-untyped-def]
    desk = OrderDesk(
        uow=store, stock=stock_desk(store, catalog_cache), metrics=metrics, limits=OrderLimits()
    )
    placed = await desk.place(
        principal=customer(),
        items=[(product_id, quantity)],
        client_total=None,
        idempotency_key=None,
        address=HOME,
    )
    return placed.order


def test_every_event_type_is_named_once_with_a_version() -> None:
    assert len(events.EVENT_TYPES) == 15
    assert all(kind.version >= 1 for kind in events.EVENT_TYPES.values())
    assert {kind.aggregate for kind in events.EVENT_TYPES.values()} == {
        "user",
        "product",
        "order",
        "payment",
        "reservation",
    }


async def test_an_order_records_itself_and_its_stock_with_the_request_id(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=3, price="2.50")
    token = current_request_id.set("req-42")
    try:
        order = await place(store, catalog_cache, metrics, mug.id, 2)
    finally:
        current_request_id.reset(token)
    # The products context reserves the units (before the order exists), then the orders
    # context records the order naming that reservation.
    stock, placed = [entry.event for entry in store.data.outbox][-2:]
    assert placed.type == "order.placed" and placed.request_id == "req-42"
    assert placed.payload["amount"] == "5.00" and placed.occurred_at == order.created_at
    assert placed.payload["lines"] == [
        {"product_id": mug.id, "product_name": "Mug", "quantity": 2, "unit_price": "2.50"}
    ]
    assert placed.payload["reservation_id"] == order.reservation_id is not None
    assert stock.type == "product.stock_changed" and stock.request_id == "req-42"
    assert stock.payload == {
        "product_id": mug.id,
        "delta": -2,
        "stock": 1,
        "reason": "order",
        "order_id": None,
        "reservation_id": order.reservation_id,
    }


async def test_a_refused_order_records_nothing(store, catalog_cache, metrics, add_product) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=1)
    before = recorded(store)
    with pytest.raises(OutOfStock):
        await place(store, catalog_cache, metrics, mug.id, 2)
    assert recorded(store) == before


async def test_a_declined_charge_is_recorded_and_the_order_stays_pending(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=1, price="9.99")
    order = await place(store, catalog_cache, metrics, mug.id)
    with pytest.raises(PaymentDeclined):
        await payments.pay_order(
            uow=store,
            order_book=order_book(store),
            gateway=FakeGateway(approve=False),
            metrics=metrics,
            principal=customer(),
            order_id=order.id,
            card_number="4000 0000 0000 0002",
            expiry="12/49",
            cvc="123",
            currency="KRW",
            idempotency_key=None,
        )
    last = store.data.outbox[-1].event
    assert last.type == "payment.declined"
    assert last.payload == {"order_id": order.id, "amount": "9.99", "reason": "card_declined"}


class CancellingGateway(FakeGateway):
    """Approves the charge, but the order is cancelled while the gateway answers."""

    def __init__(self, cancel) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.cancel = cancel

    async def charge(self, **kwargs):  # type: ignore[no-untyped-def]
        await self.cancel()
        return await super().charge(**kwargs)


async def test_a_charge_for_an_order_cancelled_meanwhile_is_refunded_and_recorded(
    store, catalog_cache, metrics, add_product
) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(stock=1, price="4.00")
    order = await place(store, catalog_cache, metrics, mug.id)

    async def cancel() -> None:
        await cancellation.cancel_order(
            uow=store,
            stock=stock_desk(store, catalog_cache),
            payment_desk=payment_desk(store, FakeGateway(), metrics),
            principal=customer(),
            order_id=order.id,
        )

    gateway = CancellingGateway(cancel)
    with pytest.raises(InvalidTransition):
        await payments.pay_order(
            uow=store,
            order_book=order_book(store),
            gateway=gateway,
            metrics=metrics,
            principal=customer(),
            order_id=order.id,
            card_number="4242 4242 4242 4242",
            expiry="12/49",
            cvc="123",
            currency="KRW",
            idempotency_key=None,
        )
    assert gateway.refunds == ["ref-1"]
    assert recorded(store)[-3:] == ["order.cancelled", "product.stock_changed", "payment.refunded"]
    refund = store.data.outbox[-1].event
    assert refund.payload["reason"] == "order_not_pending"
    assert refund.payload["user_id"] == order.user_id and refund.version == 2  # the mail's buyer
    assert Decimal(refund.payload["amount"]) == Decimal("4.00")
