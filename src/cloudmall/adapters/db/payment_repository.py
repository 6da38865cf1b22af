"""Payments over one AsyncConnection."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.rows import cents
from cloudmall.adapters.db.tables import (
    payments,
    utcnow,
)
from cloudmall.domain.payments import Payment, PaymentStatus


class SqlPaymentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, *, order_id: int, amount: Decimal, reference: str, card_last4: str
    ) -> Payment:
        now = utcnow()
        result = await self._conn.execute(
            payments.insert().values(
                order_id=order_id,
                amount=amount,
                status=PaymentStatus.CAPTURED.value,
                intent_key=reference,
                provider_reference=reference,
                card_last4=card_last4,
                created_at=now,
                updated_at=now,
            )
        )
        return Payment(
            id=int(result.inserted_primary_key[0]),  # type: ignore[index]
            order_id=order_id,
            amount=amount,
            status=PaymentStatus.CAPTURED,
            provider_reference=reference,
            card_last4=card_last4,
            created_at=now,
        )

    async def for_order(self, order_id: int) -> list[Payment]:
        rows = await self._conn.execute(
            select(payments).where(payments.c.order_id == order_id).order_by(payments.c.id)
        )
        return [
            Payment(
                id=row.id,
                order_id=row.order_id,
                amount=cents(row.amount),
                status=PaymentStatus(row.status),
                provider_reference=row.provider_reference,
                card_last4=row.card_last4,
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def mark_refunded(self, payment_id: int) -> bool:
        result = await self._conn.execute(
            update(payments)
            .where(
                payments.c.id == payment_id,
                payments.c.status == PaymentStatus.CAPTURED.value,
            )
            .values(status=PaymentStatus.REFUNDED.value, updated_at=utcnow())
        )
        return result.rowcount == 1
