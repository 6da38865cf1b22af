"""The mail reader's delivery records over one AsyncConnection."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import mail_deliveries, utcnow
from cloudmall.services.ports import RetryableConflict


class SqlMailDeliveries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def take(
        self, event_id: str, *, stale_before: datetime
    ) -> Literal["taken", "sent", "busy"]:
        row = (
            await self._conn.execute(
                select(mail_deliveries.c.sent, mail_deliveries.c.updated_at).where(
                    mail_deliveries.c.event_id == event_id
                )
            )
        ).first()
        if row is None:
            try:
                await self._conn.execute(
                    mail_deliveries.insert().values(
                        event_id=event_id, sent=False, attempts=1, updated_at=utcnow()
                    )
                )
            except IntegrityError as exc:  # another process took it meanwhile: ask again
                raise RetryableConflict("mail taken meanwhile") from exc
            return "taken"
        if row.sent:
            return "sent"
        # Taken before but not sent: its process died mid-way. Take it over once it is stale
        # (conditionally, so two processes cannot both take it over).
        taken_over = await self._conn.execute(
            update(mail_deliveries)
            .where(
                mail_deliveries.c.event_id == event_id,
                mail_deliveries.c.sent.is_(False),
                mail_deliveries.c.updated_at < stale_before,
            )
            .values(attempts=mail_deliveries.c.attempts + 1, updated_at=utcnow())
        )
        return "taken" if taken_over.rowcount else "busy"

    async def mark_sent(self, event_id: str) -> None:
        await self._conn.execute(
            update(mail_deliveries)
            .where(mail_deliveries.c.event_id == event_id)
            .values(sent=True, updated_at=utcnow())
        )

    async def release(self, event_id: str) -> None:
        await self._conn.execute(
            delete(mail_deliveries).where(
                mail_deliveries.c.event_id == event_id, mail_deliveries.c.sent.is_(False)
            )
        )

    async def forget(self, sent_before: datetime) -> int:
        result = await self._conn.execute(
            delete(mail_deliveries).where(mail_deliveries.c.updated_at < sent_before)
        )
        return int(result.rowcount or 0)
