"""The mail reader's delivery records over one AsyncConnection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import mail_deliveries, utcnow
from cloudmall.services.ports import MailState, RetryableConflict


class SqlMailDeliveries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def take(
        self, event_ids: Sequence[str], *, stale_before: datetime
    ) -> dict[str, MailState]:
        if not event_ids:
            return {}
        found = await self._conn.execute(
            select(mail_deliveries.c.event_id, mail_deliveries.c.sent).where(
                mail_deliveries.c.event_id.in_(event_ids)
            )
        )
        known = {row.event_id: bool(row.sent) for row in found}
        states: dict[str, MailState] = {}
        now = utcnow()
        fresh = [event_id for event_id in event_ids if event_id not in known]
        if fresh:
            try:
                await self._conn.execute(
                    mail_deliveries.insert(),
                    [
                        {"event_id": e, "sent": False, "attempts": 1, "updated_at": now}
                        for e in fresh
                    ],
                )
            except IntegrityError as exc:  # another process took one meanwhile: ask again
                raise RetryableConflict("mail taken meanwhile") from exc
            states.update(dict.fromkeys(fresh, "taken"))
        for event_id, sent in known.items():
            if sent:
                states[event_id] = "sent"
                continue
            # Taken before, not sent: its process may have died. Taken over once stale
            # (conditionally, so two processes cannot both take it over).
            taken_over = await self._conn.execute(
                update(mail_deliveries)
                .where(
                    mail_deliveries.c.event_id == event_id,
                    mail_deliveries.c.sent.is_(False),
                    mail_deliveries.c.updated_at < stale_before,
                )
                .values(attempts=mail_deliveries.c.attempts + 1, updated_at=now)
            )
            states[event_id] = "taken" if taken_over.rowcount else "busy"
        return states

    async def mark_sent(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            await self._conn.execute(
                update(mail_deliveries)
                .where(mail_deliveries.c.event_id.in_(event_ids))
                .values(sent=True, updated_at=utcnow())
            )

    async def release(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            await self._conn.execute(
                delete(mail_deliveries).where(
                    mail_deliveries.c.event_id.in_(event_ids), mail_deliveries.c.sent.is_(False)
                )
            )

    async def forget(self, sent_before: datetime) -> int:
        result = await self._conn.execute(
            delete(mail_deliveries).where(mail_deliveries.c.updated_at < sent_before)
        )
        return int(result.rowcount or 0)
