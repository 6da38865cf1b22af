"""The payments reconciler function (`cloudmall.serverless.scheduled.reconcile_payments`): once
per scheduled invocation it settles the payments a payer's function left on their way past
their grace, as a server's reconciler does every 30 s and `cloudmall payments reconcile` does
once (the serverless stack keeps no loop running)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.config import Settings
from cloudmall.domain.cards import Card
from cloudmall.domain.orders import OrderLine, OrderStatus
from cloudmall.domain.payments import PaymentStatus
from cloudmall.domain.users import Role
from cloudmall.serverless import scheduled
from cloudmall.services import payment_intents
from cloudmall.services.commands import CreateProduct
from cloudmall.services.payment_reconciler import PaymentReconciler
from cloudmall.services.ports import NewOrder, UnitOfWorkFactory
from tests.integration.serverless.conftest import (
    MakeFunction,
    function_environment,
    function_settings,
)

# What EventBridge sends a scheduled function (the handler reads none of it).
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
GRACE_SECONDS = 0.05


async def placed(uow: UnitOfWorkFactory, product_id: int, email: str) -> int:
    """A pending order of one ₩2.00 unit, by a new customer."""
    async with uow(write=True) as tx:
        user = await tx.users.add(email=email, name="Kim", role=Role.CUSTOMER, password_hash="h")
        line = OrderLine(product_id, "Mug", 1, Decimal("2.00"))
        (order,) = await tx.orders.add_many([NewOrder(user.id, (line,), Decimal("2.00"))])
        await tx.commit()
    return order.id


def test_a_scheduled_invocation_settles_the_payments_past_their_grace_once(
    make_function: MakeFunction, database_url: str, tmp_path: Path
) -> None:
    """A payer's function killed after the gateway charged (its payment `pending`, the charge
    in the gateway's record) and one killed before it charged: one invocation captures the
    first (the order paid) and abandons the second; the next finds nothing."""
    make_function()  # the migrated database
    settings = function_settings(database_url, tmp_path, payment_grace_seconds=GRACE_SECONDS)
    reconciler = scheduled.ReconcileFunction(settings)
    shop, run = reconciler.shop, reconciler.loop.run_until_complete
    uow: UnitOfWorkFactory = shop.tiers["uow"]  # type: ignore[assignment]
    payer: PaymentReconciler = shop.tiers["payment_reconciler"]  # type: ignore[assignment]
    try:
        mug = run(shop.handle(CreateProduct(name="Mug", price="2.00", stock_quantity=5)))
        order_id = run(placed(uow, mug.id, "kim@example.com"))
        intents = [
            run(
                payment_intents.open_intent(
                    uow, order_id=order_id, amount=Decimal("2.00"), card_last4="4242"
                )
            )
            for _ in range(2)
        ]
        card = Card("4242424242424242", "12/49", "123")
        charged = run(
            payer.gateway.charge(
                amount=Decimal("2.00"), currency="KRW", card=card, intent_key=intents[0].intent_key
            )
        )
        assert charged.approved
        time.sleep(GRACE_SECONDS * 2)  # both past their grace
        assert reconciler(SCHEDULED, None) == {"settled": 2}
        assert reconciler(SCHEDULED, None) == {"settled": 0}  # nothing twice

        async def state() -> tuple[OrderStatus, dict[int, PaymentStatus]]:
            async with uow() as tx:
                order = await tx.orders.get(order_id)
                found = await tx.payments.for_order(order_id)
            assert order is not None
            return order.status, {p.id: p.status for p in found}

        assert run(state()) == (
            OrderStatus.PAID,
            {intents[0].id: PaymentStatus.CAPTURED, intents[1].id: PaymentStatus.ABANDONED},
        )
    finally:
        run(shop.aclose())
        reconciler.loop.close()


def test_within_their_grace_the_payments_are_left_to_their_payer(
    make_function: MakeFunction, database_url: str, tmp_path: Path
) -> None:
    make_function()
    reconciler = scheduled.ReconcileFunction(function_settings(database_url, tmp_path))
    shop, run = reconciler.shop, reconciler.loop.run_until_complete
    uow: UnitOfWorkFactory = shop.tiers["uow"]  # type: ignore[assignment]
    try:
        mug = run(shop.handle(CreateProduct(name="Mug", price="2.00", stock_quantity=5)))
        order_id = run(placed(uow, mug.id, "lee@example.com"))
        run(
            payment_intents.open_intent(
                uow, order_id=order_id, amount=Decimal("2.00"), card_last4="4242"
            )
        )
        assert reconciler(SCHEDULED, None) == {"settled": 0}  # the default grace: 60 s
    finally:
        run(shop.aclose())
        reconciler.loop.close()


def test_the_handler_is_built_on_first_access(
    make_function: MakeFunction,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name the stack gives Lambda: `cloudmall.serverless.scheduled.reconcile_payments`."""
    make_function()
    for name, value in function_environment(database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(scheduled.__dict__, "reconcile_payments", raising=False)
    handler = scheduled.reconcile_payments
    try:
        assert isinstance(handler, scheduled.ReconcileFunction)
        assert scheduled.reconcile_payments is handler  # once per container
        assert handler(SCHEDULED, None) == {"settled": 0}
    finally:
        handler.loop.run_until_complete(handler.shop.aclose())
        handler.loop.close()
        monkeypatch.delitem(scheduled.__dict__, "reconcile_payments")


def test_outside_the_function_runtime_it_refuses_to_start(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        environment="test", database_url=database_url, var_dir=tmp_path, secret_key="k" * 64
    )
    with pytest.raises(ValueError, match="CLOUDMALL_RUNTIME=function"):
        scheduled.ReconcileFunction(settings)
