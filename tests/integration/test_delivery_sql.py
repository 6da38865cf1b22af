"""Delivery and refunds on each real database: the address book, an order's own copy of its
address and its shipment, and refunds that happen once however many ask at once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
from cloudmall.domain.delivery import Address, DeliveryFees, Shipment
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.payments import PaymentStatus
from cloudmall.domain.users import Role
from cloudmall.services import cancellation, delivery, orders, payments
from cloudmall.services.address_book import LocalAddressBook
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.ports import NewOrder, Principal
from tests.integration.test_sql_adapters import new_product, new_user
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeGateway, FakeMetrics

OFFICE = Address("이서준", "02-123-4567", "04524", "서울 중구 세종대로 110", "")
FEES = DeliveryFees(fee=Decimal("3000"), free_from=Decimal("50000"))
COST = (Decimal("4000.00"), Decimal("1000.00"), Decimal("3000.00"))  # total, goods, fee

pytestmark = pytest.mark.anyio


def cache() -> CatalogCache:
    return CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())


async def test_the_address_book_round_trips_and_keeps_one_default(
    uow: SqlUnitOfWorkFactory,
) -> None:
    me = Principal(await new_user(uow, "me@example.com"), Role.CUSTOMER)
    other = Principal(await new_user(uow, "other@example.com"), Role.CUSTOMER)
    home = await delivery.add_address(uow=uow, principal=me, address=HOME, make_default=False)
    office = await delivery.add_address(uow=uow, principal=me, address=OFFICE, make_default=True)
    await delivery.add_address(uow=uow, principal=other, address=OFFICE, make_default=False)
    listed = await delivery.list_addresses(uow=uow, principal=me)
    assert [(a.id, a.is_default, a.address) for a in listed] == [
        (office.id, True, OFFICE),
        (home.id, False, HOME),  # Korean text and the detail line survive on every backend
    ]
    await delivery.make_default(uow=uow, principal=me, address_id=home.id)
    await delivery.delete_address(uow=uow, principal=me, address_id=home.id)
    left = await delivery.list_addresses(uow=uow, principal=me)
    assert [(a.id, a.is_default) for a in left] == [(office.id, True)]
    assert len(await delivery.list_addresses(uow=uow, principal=other)) == 1


async def test_an_order_keeps_its_own_copy_of_the_address_and_its_shipment(
    uow: SqlUnitOfWorkFactory,
) -> None:
    user_id = await new_user(uow)
    product_id = await new_product(uow, 5)
    line = OrderLine(product_id, "Mug", 1, Decimal("1000.00"))
    async with uow(write=True) as tx:
        pending, sent = await tx.orders.add_many(
            [
                NewOrder(user_id, (line,), Decimal("4000.00"), Decimal("1000.00"), Decimal("3000")),
                NewOrder(
                    user_id, (line,), Decimal("4000.00"), Decimal("1000.00"), Decimal("3000"), HOME
                ),
            ]
        )
        await tx.commit()
    assert (pending.address, sent.address) == (None, HOME)
    me = Principal(user_id, Role.CUSTOMER)
    saved = await delivery.add_address(uow=uow, principal=me, address=OFFICE, make_default=True)
    copied = await orders.set_order_address(
        uow=uow,
        principal=me,
        order_id=pending.id,
        address=await delivery.saved_address(
            addresses=LocalAddressBook(uow), principal=me, address_id=saved.id
        ),
    )
    await delivery.delete_address(uow=uow, principal=me, address_id=saved.id)
    async with uow(write=True) as tx:
        await tx.orders.set_shipment(sent.id, Shipment("logen", "987654321012"))
        await tx.commit()
    async with uow() as tx:
        first, second = await tx.orders.get(pending.id), await tx.orders.get(sent.id)
    assert first is not None and second is not None
    assert first.address == copied.address == OFFICE  # the book's address is gone; the copy stays
    assert (first.subtotal, first.delivery_fee, first.total_amount) == (
        Decimal("1000.00"),
        Decimal("3000.00"),
        Decimal("4000.00"),
    )
    assert second.address == HOME and second.shipment == Shipment("logen", "987654321012")


async def paid_order(uow: SqlUnitOfWorkFactory, gateway: FakeGateway) -> tuple[Order, int]:
    """A customer's paid order of 3 units (of 5), and its product."""
    principal = Principal(await new_user(uow), Role.CUSTOMER)
    product_id = await new_product(uow, 5, "1000.00")
    desk = OrderDesk(
        uow=uow,
        stock=stock_desk(uow, cache()),
        metrics=FakeMetrics(),
        limits=orders.OrderLimits(fees=FEES),
    )
    placed = await desk.place(
        principal=principal,
        items=[(product_id, 3)],
        client_total=None,
        idempotency_key=None,
        address=HOME,
    )
    paid = await payments.pay_order(
        uow=uow,
        order_book=order_book(uow),
        gateway=gateway,
        metrics=FakeMetrics(),
        principal=principal,
        order_id=placed.order.id,
        card_number="4242424242424242",
        expiry="12/49",
        cvc="123",
        currency="KRW",
        idempotency_key=None,
    )
    return paid.order, product_id


class SlowRefunds(FakeGateway):
    """Takes its time to refund, so that concurrent requests overlap at the gateway."""

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        await asyncio.sleep(0.1)
        await super().refund(reference=reference, amount=amount)


async def test_concurrent_refunds_refund_once_and_restock_once(uow: SqlUnitOfWorkFactory) -> None:
    gateway = SlowRefunds()
    order, product_id = await paid_order(uow, gateway)
    customer = Principal(order.user_id, Role.CUSTOMER)
    staff = Principal(await new_user(uow, "staff@example.com"), Role.ADMIN)

    def cancel(principal: Principal):  # type: ignore[no-untyped-def]
        return cancellation.cancel_order(
            uow=uow,
            stock=stock_desk(uow, cache()),
            payment_desk=payment_desk(uow, gateway, FakeMetrics()),
            principal=principal,
            order_id=order.id,
        )

    refund = cancellation.refund_order(
        uow=uow,
        stock=stock_desk(uow, cache()),
        payment_desk=payment_desk(uow, gateway, FakeMetrics()),
        principal=staff,
        order_id=order.id,
    )
    answers = await asyncio.gather(cancel(customer), cancel(customer), refund, cancel(staff))
    assert {answer.status for answer in answers} == {OrderStatus.CANCELLED}
    asked = len(gateway.refunds)
    if isinstance(uow, DynamoUnitOfWorkFactory):
        # No row lock: each request may reach the gateway before one commits; its refund is
        # idempotent by reference (the port's contract), so the money goes back once.
        assert set(gateway.refunds) == {"ref-1"}
    else:
        assert gateway.refunds == ["ref-1"]  # the order's row lock: one at the gateway
    again = await cancel(customer)  # and a retry long after
    assert again.status is OrderStatus.CANCELLED and len(gateway.refunds) == asked
    async with uow() as tx:
        product = await tx.products.get(product_id)
        [payment] = await tx.payments.for_order(order.id)
    assert product is not None and product.stock_quantity == 5  # 3 taken, 3 back, once
    assert payment.status is PaymentStatus.REFUNDED
    assert payment.amount == Decimal("6000.00")  # 3 × ₩1,000 and the ₩3,000 fee
