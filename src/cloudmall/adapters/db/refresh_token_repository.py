"""Refresh tokens over one AsyncConnection: rows in, RefreshToken out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import refresh_tokens
from cloudmall.domain.sessions import NewRefreshToken, RefreshToken


def _token(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        family=row.family,
        user_id=row.user_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
    )


class SqlRefreshTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, new: NewRefreshToken) -> RefreshToken:
        result = await self._conn.execute(
            refresh_tokens.insert().values(
                family=new.family,
                user_id=new.user_id,
                token_hash=new.token_hash,
                created_at=new.created_at,
                expires_at=new.expires_at,
            )
        )
        token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return RefreshToken(
            id=token_id,
            family=new.family,
            user_id=new.user_id,
            token_hash=new.token_hash,
            created_at=new.created_at,
            expires_at=new.expires_at,
        )

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        query = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _token(row) if row else None

    async def rotate(self, token_id: int, at: datetime) -> bool:
        result = await self._conn.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.id == token_id,
                refresh_tokens.c.rotated_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(rotated_at=at)
        )
        return bool(result.rowcount)

    async def revoke_family(self, family: str, at: datetime) -> int:
        result = await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family == family, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)

    async def revoke_user(self, user_id: int, at: datetime) -> int:
        result = await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)

    async def delete_expired(self, user_id: int, now: datetime) -> int:
        result = await self._conn.execute(
            delete(refresh_tokens).where(
                refresh_tokens.c.user_id == user_id, refresh_tokens.c.expires_at <= now
            )
        )
        return int(result.rowcount)
