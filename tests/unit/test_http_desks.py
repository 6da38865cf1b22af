"""The ports between contexts over HTTP: each Http* adapter against the owning service's internal
routes (in process, httpx's ASGI transport), answered by an in-memory desk of that context."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from cloudmall.adapters.http.client import ServiceClient
from cloudmall.adapters.http.desks import (
    HttpAddressBook,
    HttpOrderBook,
    HttpPaymentDesk,
    HttpPriceList,
    HttpStockDesk,
)
from cloudmall.domain.delivery import Address
from cloudmall.domain.errors import CloudmallError, InvalidTransition, NotFound, OutOfStock
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.products import Product
from cloudmall.domain.reservations import (
    Reservation,
    ReservationExpired,
    ReservationStatus,
    ReservedLine,
)
from cloudmall.domain.users import Role
from cloudmall.services.ports import Principal, ReservationRequest
from cloudmall.services.snapshots import (
    order_to_dict,
    product_to_dict,
    reservation_from_dict,
    reservation_to_dict,
)
from cloudmall.web.errors import install_error_handlers
from cloudmall.web.routers import (
    internal_addresses,
    internal_catalog,
    internal_orders,
    internal_payments,
    internal_stock,
)
from tests.unit.fakes import HOME

pytestmark = pytest.mark.anyio
SECRET = "k" * 40
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


KETTLE = Product(
    id=2,
    name="주전자",
    price=Decimal("18000.00"),
    description="A kettle",
    category="kitchen",
    stock_quantity=1,
    image_key="ab/cdef.webp",
    created_at=NOW - timedelta(days=3),
    updated_at=NOW,
    name_en="Kettle",
    description_en="A kettle, in English",
    list_price=Decimal("24000.00"),
    category_name="주방",
    category_name_en="Kitchen",
)
PLAIN = Product(1, "Mug", Decimal("1500.00"), "", "kitchen", 5, None, NOW, NOW)


class MemoryStockDesk:
    def __init__(self) -> None:
        self.stock = {1: 5, 2: 1}
        self.reservations: dict[str, Reservation] = {}
        self.thresholds: list[int] = []

    async def reserve(
        self, requests: Sequence[ReservationRequest]
    ) -> list[Reservation | CloudmallError]:
        answers: list[Reservation | CloudmallError] = []
        for request in requests:
            short = [pid for pid, units in request.quantities.items() if self.stock[pid] < units]
            if short:
                answers.append(OutOfStock(short[0], f"product {short[0]}", self.stock[short[0]]))
                continue
            lines = tuple(
                ReservedLine(pid, f"product {pid}", Decimal("1500.00"), units)
                for pid, units in sorted(request.quantities.items())
            )
            reservation = Reservation(
                request.id, ReservationStatus.RESERVED, lines, NOW + timedelta(minutes=30), NOW, NOW
            )
            self.reservations[request.id] = reservation
            answers.append(reservation)
        return answers

    async def confirm(self, reservation_id: str) -> Reservation:
        found = self.reservations.get(reservation_id)
        if found is None:
            raise NotFound("No such reservation")
        if found.status is ReservationStatus.RELEASED:
            raise ReservationExpired("The reservation expired")
        self.reservations[reservation_id] = replace(found, status=ReservationStatus.SOLD)
        return self.reservations[reservation_id]

    async def release(self, reservation_id: str, *, reason: str) -> Reservation | None:
        found = self.reservations.get(reservation_id)
        if found is None:
            return None
        self.reservations[reservation_id] = replace(found, status=ReservationStatus.RELEASED)
        return self.reservations[reservation_id]

    async def low_stock(self, threshold: int) -> list[Product]:
        self.thresholds.append(threshold)
        return [p for p in (KETTLE, PLAIN) if p.stock_quantity <= threshold]


ORDER = Order(
    id=9,
    user_id=3,
    status=OrderStatus.PENDING,
    total_amount=Decimal("6000.00"),
    lines=(OrderLine(1, "Kettle", 2, Decimal("1500.00")),),
    created_at=NOW,
    updated_at=NOW,
    subtotal=Decimal("3000.00"),
    delivery_fee=Decimal("3000.00"),
    address=Address("홍길동", "010-0000-0000", "04524", "서울 중구 세종대로 110", "3층"),
    reservation_id="r-9",
)


class MemoryOrderBook:
    def __init__(self) -> None:
        self.callers: list[Principal] = []

    async def payable(self, principal: Principal, order_id: int) -> Order:
        self.callers.append(principal)
        if order_id != ORDER.id or principal.user_id != ORDER.user_id:
            raise NotFound("No such order")
        return ORDER

    async def visible(self, principal: Principal, order_id: int) -> Order:
        if order_id != ORDER.id or not (principal.is_admin or principal.user_id == ORDER.user_id):
            raise NotFound("No such order")
        return ORDER

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        if payment_reference == "late":
            raise InvalidTransition("An order that is cancelled cannot become paid")
        return replace(ORDER, status=OrderStatus.PAID)


class MemoryPriceList:
    async def prices(self, product_ids: Collection[int]) -> Mapping[int, Decimal]:
        return {pid: Decimal("1500.00") for pid in product_ids if pid < 100}


class MemoryAddressBook:
    async def saved(self, user_id: int, address_id: int) -> Address | None:
        return HOME if (user_id, address_id) == (7, 1) else None


class MemoryPaymentDesk:
    def __init__(self) -> None:
        self.refunds: list[tuple[int, str, int | None]] = []

    async def refund_order(self, order_id: int, *, reason: str, user_id: int | None) -> bool:
        self.refunds.append((order_id, reason, user_id))
        return order_id == ORDER.id


@pytest.fixture
def tiers() -> dict[str, object]:
    return {
        "stock_desk": MemoryStockDesk(),
        "order_book": MemoryOrderBook(),
        "payment_desk": MemoryPaymentDesk(),
        "price_list": MemoryPriceList(),
        "address_book": MemoryAddressBook(),
    }


@pytest.fixture
def client(tiers: dict[str, object]) -> ServiceClient:
    app = FastAPI()
    install_error_handlers(app)
    app.state.settings = SimpleNamespace(internal_secret=SecretStr(SECRET))
    app.state.shop = SimpleNamespace(tiers=tiers)
    for module in (
        internal_stock,
        internal_catalog,
        internal_addresses,
        internal_orders,
        internal_payments,
    ):
        app.include_router(module.router)
    return ServiceClient(
        "peer", "http://peer", secret=SECRET, transport=httpx.ASGITransport(app=app)
    )


async def test_reserve_answers_each_request_its_reservation_or_its_refusal(
    client: ServiceClient,
) -> None:
    desk = HttpStockDesk(client)
    answers = await desk.reserve(
        [ReservationRequest("r-1", {1: 2, 2: 1}), ReservationRequest("r-2", {2: 3})]
    )
    first, second = answers
    assert isinstance(first, Reservation)
    assert first.id == "r-1" and first.status is ReservationStatus.RESERVED
    assert first.quantities == {1: 2, 2: 1}
    assert first.lines[0].unit_price == Decimal("1500.00")
    assert first.expires_at == NOW + timedelta(minutes=30)
    assert isinstance(second, OutOfStock)
    assert (second.product_id, second.available) == (2, 1)


async def test_confirm_and_release_over_http(client: ServiceClient) -> None:
    desk = HttpStockDesk(client)
    await desk.reserve([ReservationRequest("r:1", {1: 1})])
    assert (await desk.confirm("r:1")).status is ReservationStatus.SOLD
    released = await desk.release("r:1", reason="refund")
    assert released is not None and released.status is ReservationStatus.RELEASED
    with pytest.raises(ReservationExpired):
        await desk.confirm("r:1")
    with pytest.raises(NotFound):
        await desk.confirm("unknown")
    assert await desk.release("unknown", reason="cancel") is None


async def test_low_stock_over_http_keeps_every_field(
    client: ServiceClient, tiers: dict[str, object]
) -> None:
    desk = HttpStockDesk(client)
    assert await desk.low_stock(1) == [KETTLE]
    assert await desk.low_stock(5) == [KETTLE, PLAIN]  # a product without its optional fields
    assert await desk.low_stock(0) == []
    stock = tiers["stock_desk"]
    assert isinstance(stock, MemoryStockDesk)
    assert stock.thresholds == [1, 5, 0]


async def test_the_order_book_over_http(client: ServiceClient, tiers: dict[str, object]) -> None:
    book = HttpOrderBook(client)
    customer = Principal(3, Role.CUSTOMER, token_version=2)
    assert await book.payable(customer, 9) == ORDER
    book_tier = tiers["order_book"]
    assert isinstance(book_tier, MemoryOrderBook)
    assert book_tier.callers == [customer]
    with pytest.raises(NotFound):
        await book.payable(Principal(4, Role.CUSTOMER), 9)
    assert await book.visible(Principal(1, Role.ADMIN), 9) == ORDER
    with pytest.raises(NotFound):
        await book.visible(Principal(4, Role.CUSTOMER), 9)
    paid = await book.mark_paid(9, payment_reference="sim_1")
    assert paid.status is OrderStatus.PAID and paid.address == ORDER.address
    with pytest.raises(InvalidTransition):
        await book.mark_paid(9, payment_reference="late")


async def test_the_payment_desk_over_http(client: ServiceClient, tiers: dict[str, object]) -> None:
    desk = HttpPaymentDesk(client)
    assert await desk.refund_order(9, reason="cancelled", user_id=4) is True
    assert await desk.refund_order(10, reason="cancelled", user_id=None) is False
    payments = tiers["payment_desk"]
    assert isinstance(payments, MemoryPaymentDesk)
    assert payments.refunds == [(9, "cancelled", 4), (10, "cancelled", None)]


async def test_prices_answer_the_products_that_exist(client: ServiceClient) -> None:
    prices = await HttpPriceList(client).prices({2, 1, 404})
    assert prices == {1: Decimal("1500.00"), 2: Decimal("1500.00")}


async def test_a_saved_address_is_the_users_own_or_none(client: ServiceClient) -> None:
    book = HttpAddressBook(client)
    assert await book.saved(7, 1) == HOME
    assert await book.saved(8, 1) is None  # another user's address looks missing


async def test_the_internal_routes_answer_the_one_wire_form(client: ServiceClient) -> None:
    """The bodies are services.snapshots' dicts, byte for byte: no second serialiser."""
    acting = {"principal": {"user_id": 3, "role": "customer", "token_version": 0}}
    assert await client.post("/internal/v1/orders/9/payable", acting) == order_to_dict(ORDER)
    low = await client.post("/internal/v1/stock/low", {"threshold": 5})
    assert low == {"products": [product_to_dict(KETTLE), product_to_dict(PLAIN)]}
    reserved = await client.post(
        "/internal/v1/stock/reservations",
        {"requests": [{"id": "r-1", "quantities": [{"product_id": 1, "quantity": 1}]}]},
    )
    confirmed = await client.post("/internal/v1/stock/reservations/r-1/confirm", {})
    assert reserved["results"][0]["reservation"] == {**confirmed, "status": "reserved"}
    assert confirmed == reservation_to_dict(reservation_from_dict(confirmed))
