"""Payments as items in their order's partition: one Query lists an order's payments."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloudmall.adapters.dynamodb.table import moment, money, order_key, payment_key, timestamp
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.payments import Payment, PaymentStatus
from cloudmall.services.ports import RetryableConflict


def _payment(item: dict[str, Any]) -> Payment:
    return Payment(
        id=int(item["id"]),
        order_id=int(item["order_id"]),
        amount=money(item["amount"]),
        status=PaymentStatus(item["status"]),
        provider_reference=item["provider_reference"],
        card_last4=item["card_last4"],
        created_at=moment(item["created_at"]),
    )


def _refused() -> Exception:
    return RetryableConflict("payment id taken")


class DynamoPaymentRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx
        self._orders: dict[int, int] = {}  # payments this unit of work read or added → order

    async def add(
        self, *, order_id: int, amount: Decimal, reference: str, card_last4: str
    ) -> Payment:
        payment_id = await self._tx.next_ids("payment")
        now = timestamp(datetime.now(UTC))
        key = payment_key(order_id, payment_id)
        item = {
            "PK": key[0],
            "SK": key[1],
            "id": payment_id,
            "order_id": order_id,
            "amount": amount,
            "status": PaymentStatus.CAPTURED.value,
            "intent_key": reference,
            "provider_reference": reference,
            "card_last4": card_last4,
            "created_at": now,
            "updated_at": now,
        }
        self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_refused)
        self._orders[payment_id] = order_id
        return _payment(item)

    async def for_order(self, order_id: int) -> list[Payment]:
        items = await self._tx.query(order_key(order_id)[0], prefix="PAYMENT#")
        self._orders.update((int(item["id"]), order_id) for item in items)
        return [_payment(item) for item in items]

    async def mark_refunded(self, payment_id: int) -> bool:
        """`payment_id` is one this unit of work read (`for_order`) or added: a payment's key
        is its order's partition."""
        if payment_id not in self._orders:
            raise LookupError(f"payment {payment_id} was not read in this unit of work")
        key = payment_key(self._orders[payment_id], payment_id)
        before = await self._tx.get(key)
        if before is None or before["status"] != PaymentStatus.CAPTURED.value:
            return False
        refunded = {
            "status": PaymentStatus.REFUNDED.value,
            "updated_at": timestamp(datetime.now(UTC)),
        }
        self._tx.update(
            key,
            set_=refunded,
            condition="#status = :captured",
            values={":captured": PaymentStatus.CAPTURED.value},
            after={**before, **refunded},
            refused=_refused,  # refunded meanwhile: run again, and find nothing to refund
        )
        return True
