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

    async def add(
        self, *, order_id: int, amount: Decimal, reference: str, card_last4: str
    ) -> Payment:
        payment_id = await self._tx.next_ids("payment")
        key = payment_key(order_id, payment_id)
        item = {
            "PK": key[0],
            "SK": key[1],
            "id": payment_id,
            "order_id": order_id,
            "amount": amount,
            "status": PaymentStatus.CAPTURED.value,
            "provider_reference": reference,
            "card_last4": card_last4,
            "created_at": timestamp(datetime.now(UTC)),
        }
        self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_refused)
        return _payment(item)

    async def for_order(self, order_id: int) -> list[Payment]:
        items = await self._tx.query(order_key(order_id)[0], prefix="PAYMENT#")
        return [_payment(item) for item in items]
