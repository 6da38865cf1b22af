"""Payments over one AsyncConnection: each written as an intent, moved by conditional updates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.rows import cents
from cloudmall.adapters.db.tables import (
    payments,
    utcnow,
)
from cloudmall.domain.payments import UNSETTLED, Payment, PaymentStatus


def _payment(row: Any) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        amount=cents(row.amount),
        status=PaymentStatus(row.status),
        intent_key=row.intent_key,
        provider_reference=row.provider_reference,
        card_last4=row.card_last4,
        created_at=row.created_at,
    )


class SqlPaymentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, *, order_id: int, amount: Decimal, intent_key: str, card_last4: str
    ) -> Payment:
        now = utcnow()
        result = await self._conn.execute(
            payments.insert().values(
                order_id=order_id,
                amount=amount,
                status=PaymentStatus.PENDING.value,
                intent_key=intent_key,
                provider_reference=None,
                card_last4=card_last4,
                created_at=now,
                updated_at=now,
            )
        )
        return Payment(
            id=int(result.inserted_primary_key[0]),  # type: ignore[index]
            order_id=order_id,
            amount=amount,
            status=PaymentStatus.PENDING,
            intent_key=intent_key,
            provider_reference=None,
            card_last4=card_last4,
            created_at=now,
        )

    async def for_order(self, order_id: int) -> list[Payment]:
        rows = await self._conn.execute(
            select(payments).where(payments.c.order_id == order_id).order_by(payments.c.id)
        )
        return [_payment(row) for row in rows]

    async def transition(
        self, payment: Payment, target: PaymentStatus, *, provider_reference: str | None = None
    ) -> bool:
        changes: dict[str, object] = {"status": target.value, "updated_at": utcnow()}
        if provider_reference is not None:
            changes["provider_reference"] = provider_reference
        result = await self._conn.execute(
            update(payments)
            .where(payments.c.id == payment.id, payments.c.status == payment.status.value)
            .values(**changes)
        )
        return result.rowcount == 1

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        # ix_payments_status_updated_at: a range per status, however many settled ones there are.
        rows = await self._conn.execute(
            select(payments)
            .where(
                payments.c.status.in_([status.value for status in UNSETTLED]),
                payments.c.updated_at < updated_before,
            )
            .order_by(payments.c.updated_at, payments.c.id)
            .limit(limit)
        )
        return [_payment(row) for row in rows]
