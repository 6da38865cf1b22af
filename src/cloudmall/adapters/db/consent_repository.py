"""Sign-up consents over one AsyncConnection."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import consents
from cloudmall.domain.consents import Consent, Document


class SqlConsentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user_id: int, given: Sequence[Consent]) -> None:
        if given:
            await self._conn.execute(
                consents.insert(),
                [
                    {
                        "user_id": user_id,
                        "document": consent.document.value,
                        "version": consent.version,
                        "agreed_at": consent.agreed_at,
                    }
                    for consent in given
                ],
            )

    async def for_user(self, user_id: int) -> list[Consent]:
        rows = await self._conn.execute(
            select(consents).where(consents.c.user_id == user_id).order_by(consents.c.id)
        )
        return [Consent(Document(row.document), row.version, row.agreed_at) for row in rows]
