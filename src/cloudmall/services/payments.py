"""Paying for an order through the payment gateway, at most once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cloudmall.domain.errors import InvalidInput, InvalidTransition, PaymentDeclined
from cloudmall.domain.orders import Order, OrderStatus, check_transition
from cloudmall.domain.payments import Payment
from cloudmall.services.idempotency import check_key, fingerprint, replay, with_retries
from cloudmall.services.orders import get_order, move_order
from cloudmall.services.ports import (
    Metrics,
    PaymentGateway,
    Principal,
    UnitOfWorkFactory,
)
from cloudmall.services.snapshots import (
    order_from_dict,
    order_to_dict,
    payment_from_dict,
    payment_to_dict,
)


@dataclass(frozen=True, slots=True)
class PaidOrder:
    order: Order
    payment: Payment
    replayed: bool


#: 12 to 19 digits (0-9), with spaces or dashes anywhere between them.
CARD_NUMBER_PATTERN = r"^[ -]*(?:[0-9][ -]*){12,19}$"


def _card_digits(card_number: str) -> str:
    if not re.fullmatch(CARD_NUMBER_PATTERN, card_number):
        raise InvalidInput("The card number must be 12 to 19 digits")
    return card_number.replace(" ", "").replace("-", "")


async def pay_order(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    metrics: Metrics,
    principal: Principal,
    order_id: int,
    card_number: str,
    currency: str,
    idempotency_key: str | None,
) -> PaidOrder:
    """Charge the card for a pending order's total and mark it paid.

    The charge happens outside the database transaction; the order then moves pending → paid
    only if it is still pending. If it is not (cancelled meanwhile, or paid by a concurrent
    request) the charge is refunded, so a customer is never charged for nothing.
    """
    key = check_key(idempotency_key)
    digits = _card_digits(card_number)
    scope = f"payment:{order_id}"
    request_print = fingerprint({"order": order_id, "card": digits[-4:]})

    def replayed(answer: dict[str, Any]) -> PaidOrder:
        return PaidOrder(
            order_from_dict(answer["order"]), payment_from_dict(answer["payment"]), True
        )

    async def saved_answer() -> PaidOrder | None:
        if key is None:
            return None
        async with uow() as tx:
            record = await tx.idempotency.get(user_id=principal.user_id, scope=scope, key=key)
        return replayed(replay(record, request_print)) if record is not None else None

    async def attempt() -> PaidOrder:
        if (answer := await saved_answer()) is not None:
            return answer
        order = await get_order(uow=uow, principal=principal, order_id=order_id)
        try:
            check_transition(order.status, OrderStatus.PAID)
        except InvalidTransition:
            # Paid meanwhile, perhaps by a concurrent request with this key: give its answer.
            if (answer := await saved_answer()) is not None:
                return answer
            raise
        result = await gateway.charge(
            amount=order.total_amount, currency=currency, card_number=digits
        )
        if not result.approved:
            metrics.payment("declined")
            raise PaymentDeclined(result.decline_reason)
        try:
            async with uow(write=True) as tx:
                paid = await move_order(tx, principal, order_id, OrderStatus.PAID)
                payment = await tx.payments.add(
                    order_id=order_id,
                    amount=order.total_amount,
                    reference=result.reference,
                    card_last4=digits[-4:],
                )
                if key is not None:
                    first = {"order": order_to_dict(paid), "payment": payment_to_dict(payment)}
                    await tx.idempotency.save(
                        user_id=principal.user_id,
                        scope=scope,
                        key=key,
                        fingerprint=request_print,
                        response=json.dumps(first),
                    )
                await tx.commit()
        except BaseException as exc:
            await gateway.refund(reference=result.reference, amount=order.total_amount)
            metrics.payment("refunded")
            if isinstance(exc, InvalidTransition) and (answer := await saved_answer()):
                return answer
            raise
        metrics.payment("captured")
        return PaidOrder(paid, payment, False)

    return await with_retries(attempt)
