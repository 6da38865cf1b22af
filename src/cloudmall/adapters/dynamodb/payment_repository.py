"""Payments as items in their order's partition: one Query lists an order's payments.

A payment on its way (`pending`, `charged`) is also in GSI2's `PAYMENTS#<status>` partition,
sorted by `<updated_at>#<order id>#<payment id>`: the reconciler's are each partition's first.
A settled one leaves the index (sparse), so the read does not grow with the settled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    moment,
    money,
    order_key,
    payment_key,
    sortable_id,
    timestamp,
)
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.payments import UNSETTLED, Payment, PaymentStatus
from cloudmall.services.ports import RetryableConflict

#: GSI2's partition of the payments on their way with a status.
UNSETTLED_PAYMENTS = "PAYMENTS#"
_INDEX = ("GSI2PK", "GSI2SK")


def payment_index_keys(
    order_id: int, payment_id: int, status: str, updated_at: str
) -> dict[str, str]:
    """A payment's GSI2 keys while it is on its way; none once settled."""
    if PaymentStatus(status) not in UNSETTLED:
        return {}
    return {
        "GSI2PK": f"{UNSETTLED_PAYMENTS}{status}",
        "GSI2SK": f"{updated_at}#{sortable_id(order_id)}#{sortable_id(payment_id)}",
    }


def _payment(item: dict[str, Any]) -> Payment:
    return Payment(
        id=int(item["id"]),
        order_id=int(item["order_id"]),
        amount=money(item["amount"]),
        status=PaymentStatus(item["status"]),
        intent_key=item["intent_key"],
        provider_reference=item.get("provider_reference"),
        card_last4=item["card_last4"],
        created_at=moment(item["created_at"]),
    )


def _refused() -> Exception:
    return RetryableConflict("payment id taken")


class DynamoPaymentRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def add(
        self, *, order_id: int, amount: Decimal, intent_key: str, card_last4: str
    ) -> Payment:
        """The intent key is random (services.payment_intents): unlike SQL's unique index,
        nothing here checks it is new."""
        payment_id = await self._tx.next_ids("payment")
        now = timestamp(datetime.now(UTC))
        key = payment_key(order_id, payment_id)
        status = PaymentStatus.PENDING.value
        item = {
            "PK": key[0],
            "SK": key[1],
            "id": payment_id,
            "order_id": order_id,
            "amount": amount,
            "status": status,
            "intent_key": intent_key,
            "card_last4": card_last4,
            "created_at": now,
            "updated_at": now,
            **payment_index_keys(order_id, payment_id, status, now),
        }
        self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_refused)
        return _payment(item)

    async def for_order(self, order_id: int) -> list[Payment]:
        items = await self._tx.query(order_key(order_id)[0], prefix="PAYMENT#")
        return [_payment(item) for item in items]

    async def transition(
        self, payment: Payment, target: PaymentStatus, *, provider_reference: str | None = None
    ) -> bool:
        key = payment_key(payment.order_id, payment.id)
        before = await self._tx.get(key)
        if before is None or before["status"] != payment.status.value:
            return False
        now = timestamp(datetime.now(UTC))
        changes: dict[str, Any] = {"status": target.value, "updated_at": now}
        if provider_reference is not None:
            changes["provider_reference"] = provider_reference
        indexed = payment_index_keys(payment.order_id, payment.id, target.value, now)
        changes.update(indexed)
        self._tx.update(
            key,
            set_=changes,
            remove=() if indexed else _INDEX,
            condition="#status = :source",
            values={":source": payment.status.value},
            after={**{k: v for k, v in before.items() if k not in _INDEX}, **changes},
            refused=_refused,  # moved meanwhile: run again, and find it moved
        )
        return True

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        # The index is eventually consistent: what it names is read again consistently, and
        # only what is still on its way and still unchanged since then counts.
        until = timestamp(updated_before)
        indexed: list[dict[str, Any]] = []
        for status in sorted(UNSETTLED):
            indexed += await self._tx.query(
                f"{UNSETTLED_PAYMENTS}{status.value}",
                index="GSI2",
                since="0",
                until=until,
                limit=limit,
            )
        found = await self._tx.get_many(
            payment_key(int(item["order_id"]), int(item["id"])) for item in indexed
        )
        due = [
            item
            for item in found.values()
            if item is not None
            and PaymentStatus(item["status"]) in UNSETTLED
            and item["updated_at"] < until
        ]
        due.sort(key=lambda item: (item["updated_at"], int(item["id"])))
        return [_payment(item) for item in due[:limit]]
