"""A Hypothesis state machine over the shop's services on a real (SQLite) engine.

Rules: sign-up, add a product, order, pay, cancel, ship, deliver and restock (the staff's stock
edit), by the owner, by another customer or by staff. After every step the database must agree with
a simple model, and:

- stock never below 0, and stock + units in live orders = what the staff last set (conservation);
- every order's status moved only along the state machine's edges;
- paid/shipped/delivered orders have exactly one captured payment, pending/cancelled none, and
  the gateway's charges minus its refunds equal the captured payments (no one charged for nothing).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import text

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.payments.simulated import SimulatedGateway
from cloudmall.domain.cards import Card
from cloudmall.domain.delivery import Shipment
from cloudmall.domain.errors import (
    InvalidTransition,
    NotFound,
    OutOfStock,
    PaymentDeclined,
)
from cloudmall.domain.orders import ALLOWED_TRANSITIONS, LIVE_STATUSES, OrderStatus
from cloudmall.domain.payments import ChargeResult
from cloudmall.domain.users import Role
from cloudmall.services import accounts, cancellation, catalog, orders, payments
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderLimits
from cloudmall.services.ports import Principal, ProductChanges
from tests.reliability.conftest import rounds
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import HOME, FakeHasher, FakeMetrics

GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
_template: Path | None = None


def template_database() -> Path:
    """One migrated SQLite file, copied for each example (Alembic once, not per example)."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="cloudmall-stateful-"))
        path = folder / "template.db"
        asyncio.run(upgrade(f"sqlite:///{path}"))
        _template = path
    return _template


class RecordingGateway(SimulatedGateway):
    """The simulated gateway, adding up what it charged (once per intent key, as it charges)
    and what it gave back."""

    def __init__(self) -> None:
        super().__init__()
        self.charged_keys: set[str] = set()
        self.charged = Decimal(0)
        self.given_back = Decimal(0)

    async def charge(
        self, *, amount: Decimal, currency: str, card: Card, intent_key: str
    ) -> ChargeResult:
        result = await super().charge(
            amount=amount, currency=currency, card=card, intent_key=intent_key
        )
        if result.approved and intent_key not in self.charged_keys:
            self.charged_keys.add(intent_key)
            self.charged += amount
        return result

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        if reference not in self.refunded:
            self.given_back += amount
        await super().refund(reference=reference, amount=amount)


@dataclass
class ModelOrder:
    owner: int
    lines: dict[int, int]
    total: Decimal
    status: OrderStatus = OrderStatus.PENDING


@dataclass
class Model:
    stock: dict[int, int] = field(default_factory=dict)
    baseline: dict[int, int] = field(default_factory=dict)  # stock + live units, as staff set it
    orders: dict[int, ModelOrder] = field(default_factory=dict)


class Shop(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="cloudmall-example-"))
        path = self.folder / "shop.db"
        shutil.copy(template_database(), path)
        self.runner = asyncio.Runner()
        self.engine = create_engine(f"sqlite:///{path}")
        self.uow = SqlUnitOfWorkFactory(self.engine)
        self.cache = CatalogCache(MemoryCache(), ttl_seconds=300, metrics=FakeMetrics())
        self.gateway = RecordingGateway()
        self.hasher = FakeHasher()
        self.numbers = itertools.count(1)
        self.customers: list[Principal] = []
        self.admin = self.run(self._user(Role.ADMIN))
        self.model = Model()

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.runner.run(coroutine)

    async def _user(self, role: Role) -> Principal:
        user = await accounts.sign_up(
            uow=self.uow,
            hasher=self.hasher,
            email=f"user{next(self.numbers)}@example.com",
            password="a long enough passphrase",
            name="Tester",
            role=role,
        )
        return Principal(user_id=user.id, role=user.role)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.runner.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def pick_order(self, index: int) -> tuple[int, ModelOrder]:
        order_id = sorted(self.model.orders)[index % len(self.model.orders)]
        return order_id, self.model.orders[order_id]

    def actor(self, order: ModelOrder, who: int) -> Principal:
        """0: the owner, 1: another customer, 2: staff."""
        if who == 2:
            return self.admin
        owner = next(p for p in self.customers if p.user_id == order.owner)
        if who == 1:
            others = [p for p in self.customers if p.user_id != order.owner]
            return others[0] if others else owner
        return owner

    # --- rules ----------------------------------------------------------------------------

    @rule()
    def sign_up(self) -> None:
        self.customers.append(self.run(self._user(Role.CUSTOMER)))

    @rule(stock=st.integers(0, 6), price=st.sampled_from(["100.00", "2500.50", "9.99"]))
    def add_product(self, stock: int, price: str) -> None:
        product = self.run(
            catalog.create_product(
                uow=self.uow,
                cache=self.cache,
                name=f"Product {next(self.numbers)}",
                price=Decimal(price),
                stock_quantity=stock,
            )
        )
        self.model.stock[product.id] = stock
        self.model.baseline[product.id] = stock

    @precondition(lambda self: self.customers and self.model.stock)
    @rule(
        who=st.integers(0, 100),
        items=st.lists(st.tuples(st.integers(0, 100), st.integers(1, 3)), min_size=1, max_size=3),
    )
    def order(self, who: int, items: list[tuple[int, int]]) -> None:
        customer = self.customers[who % len(self.customers)]
        ids = sorted(self.model.stock)
        wanted: dict[int, int] = {}
        for index, quantity in items:
            pid = ids[index % len(ids)]
            wanted[pid] = wanted.get(pid, 0) + quantity
        enough = all(self.model.stock[pid] >= qty for pid, qty in wanted.items())
        try:
            placed = self.run(
                OrderDesk(
                    uow=self.uow,
                    stock=stock_desk(self.uow, self.cache),
                    metrics=FakeMetrics(),
                    limits=OrderLimits(),
                ).place(
                    principal=customer,
                    items=[(ids[i % len(ids)], q) for i, q in items],
                    client_total=None,
                    idempotency_key=None,
                    address=HOME,
                )
            )
        except OutOfStock:
            assert not enough
            return
        assert enough
        for pid, qty in wanted.items():
            self.model.stock[pid] -= qty
        self.model.orders[placed.order.id] = ModelOrder(
            customer.user_id, wanted, placed.order.total_amount
        )

    @precondition(lambda self: self.model.orders)
    @rule(index=st.integers(0, 1000), who=st.integers(0, 1), good_card=st.booleans())
    def pay(self, index: int, who: int, good_card: bool) -> None:
        order_id, order = self.pick_order(index)
        principal = self.actor(order, who)
        try:
            self.run(
                payments.pay_order(
                    uow=self.uow,
                    order_book=order_book(self.uow),
                    gateway=self.gateway,
                    metrics=FakeMetrics(),
                    principal=principal,
                    order_id=order_id,
                    card_number=GOOD_CARD if good_card else DECLINED_CARD,
                    expiry="12/49",
                    cvc="123",
                    currency="KRW",
                    idempotency_key=None,
                )
            )
        except NotFound:
            assert principal.user_id != order.owner
            return
        except InvalidTransition:
            assert order.status is not OrderStatus.PENDING
            return
        except PaymentDeclined:
            assert not good_card and order.status is OrderStatus.PENDING
            return
        assert principal.user_id == order.owner and good_card
        assert order.status is OrderStatus.PENDING
        order.status = OrderStatus.PAID

    @precondition(lambda self: self.model.orders)
    @rule(index=st.integers(0, 1000), who=st.integers(0, 2))
    def cancel(self, index: int, who: int) -> None:
        order_id, order = self.pick_order(index)
        principal = self.actor(order, who)
        try:
            self.run(
                cancellation.cancel_order(
                    uow=self.uow,
                    stock=stock_desk(self.uow, self.cache),
                    payment_desk=payment_desk(self.uow, self.gateway, FakeMetrics()),
                    principal=principal,
                    order_id=order_id,
                )
            )
        except NotFound:
            assert principal.user_id != order.owner and not principal.is_admin
            return
        except InvalidTransition:  # on its way: neither cancelled nor refunded
            assert order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
            return
        if order.status is OrderStatus.CANCELLED:
            return  # cancelled already: the answer as it is, nothing given back twice
        assert order.status in (OrderStatus.PENDING, OrderStatus.PAID)
        order.status = OrderStatus.CANCELLED
        for pid, qty in order.lines.items():
            self.model.stock[pid] += qty

    @precondition(lambda self: self.model.orders)
    @rule(index=st.integers(0, 1000), deliver=st.booleans())
    def ship_or_deliver(self, index: int, deliver: bool) -> None:
        order_id, order = self.pick_order(index)
        target = OrderStatus.DELIVERED if deliver else OrderStatus.SHIPPED
        source = OrderStatus.SHIPPED if deliver else OrderStatus.PAID
        try:
            self.run(
                orders.advance_order(
                    uow=self.uow,
                    principal=self.admin,
                    order_id=order_id,
                    target=target,
                    shipment=None if deliver else Shipment("cj", "6012-3456-7890"),
                )
            )
        except InvalidTransition:
            assert order.status is not source
            return
        assert order.status is source
        order.status = target

    @precondition(lambda self: self.model.stock)
    @rule(index=st.integers(0, 100), stock=st.integers(0, 8))
    def restock(self, index: int, stock: int) -> None:
        pid = sorted(self.model.stock)[index % len(self.model.stock)]
        self.run(
            catalog.update_product(
                uow=self.uow,
                cache=self.cache,
                product_id=pid,
                changes=ProductChanges(stock_quantity=stock),
            )
        )
        self.model.stock[pid] = stock
        self.model.baseline[pid] = stock + self.live_units(pid)

    def live_units(self, pid: int) -> int:
        return sum(
            order.lines.get(pid, 0)
            for order in self.model.orders.values()
            if order.status in LIVE_STATUSES
        )

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def database_agrees_and_money_adds_up(self) -> None:
        async def read() -> tuple[dict[int, int], dict[int, str], dict[int, int], Decimal]:
            async with self.engine.connect() as conn:
                stock = dict(
                    (await conn.execute(text("SELECT id, stock_quantity FROM products"))).all()
                )
                status = dict((await conn.execute(text("SELECT id, status FROM orders"))).all())
                captured = dict(
                    (
                        await conn.execute(
                            text(
                                "SELECT order_id, COUNT(*) FROM payments "
                                "WHERE status = 'captured' GROUP BY order_id"
                            )
                        )
                    ).all()
                )
                paid_total = (
                    await conn.execute(
                        text(
                            "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE status='captured'"
                        )
                    )
                ).scalar_one()
            # SQLite sums its NUMERIC column in floating point (7541.459999999999): to the cent.
            return stock, status, captured, Decimal(str(paid_total)).quantize(Decimal("0.01"))

        stock, status, captured, paid_total = self.run(read())
        assert stock == self.model.stock
        for pid, quantity in stock.items():
            assert quantity >= 0
            assert quantity + self.live_units(pid) == self.model.baseline[pid]
        for order_id, order in self.model.orders.items():
            assert OrderStatus(status[order_id]) is order.status
            expected = 1 if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED,
                                             OrderStatus.DELIVERED) else 0  # fmt: skip
            assert captured.get(order_id, 0) == expected
        assert self.gateway.charged - self.gateway.given_back == paid_total
        # Statuses in the database only ever moved along an edge of the state machine.
        seen: dict[int, OrderStatus] = getattr(self, "seen", {})
        for order_id, now in status.items():
            before, after = seen.get(order_id, OrderStatus.PENDING), OrderStatus(now)
            assert after is before or after in ALLOWED_TRANSITIONS[before], (before, after)
        self.seen = {order_id: OrderStatus(now) for order_id, now in status.items()}


Shop.TestCase.settings = settings(
    max_examples=rounds(full=300, ci=30),
    stateful_step_count=rounds(full=50, ci=25),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestShopStateMachine = pytest.mark.filterwarnings("ignore::DeprecationWarning")(Shop.TestCase)
