"""Idempotency records (first answers and claims) over one AsyncConnection."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import (
    idempotency_keys,
    utcnow,
)
from cloudmall.services.ports import (
    IdempotencyRecord,
    NewIdempotencyRecord,
    RetryableConflict,
)

_IDEMPOTENCY_RECORD = select(
    idempotency_keys.c.fingerprint, idempotency_keys.c.response, idempotency_keys.c.created_at
).where(
    idempotency_keys.c.user_id == bindparam("user_id"),
    idempotency_keys.c.scope == bindparam("scope"),
    idempotency_keys.c.idem_key == bindparam("key"),
)
_INSERT_IDEMPOTENCY = idempotency_keys.insert()
# Two IN lists (which the unique index serves) rather than a row-value IN; the pairs that were
# not asked for are dropped after the read. Built once (expanding parameters): a group of orders
# reads its keys without building, and keying for the cache, a statement of its own.
_RECORDS_OF_KEYS = select(
    idempotency_keys.c.user_id,
    idempotency_keys.c.idem_key,
    idempotency_keys.c.fingerprint,
    idempotency_keys.c.response,
    idempotency_keys.c.created_at,
).where(
    idempotency_keys.c.user_id.in_(bindparam("user_ids", expanding=True)),
    idempotency_keys.c.scope == bindparam("scope"),
    idempotency_keys.c.idem_key.in_(bindparam("keys", expanding=True)),
)


class SqlIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, *, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
        params = {"user_id": user_id, "scope": scope, "key": key}
        row = (await self._conn.execute(_IDEMPOTENCY_RECORD, params)).first()
        return IdempotencyRecord(row.fingerprint, row.response, row.created_at) if row else None

    async def get_many(
        self, *, scope: str, keys: Collection[tuple[int, str]]
    ) -> dict[tuple[int, str], IdempotencyRecord]:
        if not keys:
            return {}
        params = {
            "user_ids": sorted({user_id for user_id, _ in keys}),
            "scope": scope,
            "keys": sorted({key for _, key in keys}),
        }
        rows = await self._conn.execute(_RECORDS_OF_KEYS, params)
        wanted = set(keys)
        return {
            (row.user_id, row.idem_key): IdempotencyRecord(
                row.fingerprint, row.response, row.created_at
            )
            for row in rows
            if (row.user_id, row.idem_key) in wanted
        }

    def _where(self, user_id: int, scope: str, key: str) -> tuple[ColumnElement[bool], ...]:
        return (
            idempotency_keys.c.user_id == user_id,
            idempotency_keys.c.scope == scope,
            idempotency_keys.c.idem_key == key,
        )

    async def claim(self, *, user_id: int, scope: str, key: str, fingerprint: str) -> bool:
        try:
            await self.save_many([NewIdempotencyRecord(user_id, scope, key, fingerprint, "")])
        except RetryableConflict:
            return False
        return True

    async def take_over(
        self, *, user_id: int, scope: str, key: str, claimed_before: datetime
    ) -> bool:
        result = await self._conn.execute(
            update(idempotency_keys)
            .where(
                *self._where(user_id, scope, key),
                idempotency_keys.c.response == "",
                idempotency_keys.c.created_at < claimed_before,
            )
            .values(created_at=utcnow())
        )
        return bool(result.rowcount == 1)

    async def complete(self, *, user_id: int, scope: str, key: str, response: str) -> None:
        result = await self._conn.execute(
            update(idempotency_keys)
            .where(*self._where(user_id, scope, key), idempotency_keys.c.response == "")
            .values(response=response)
        )
        if result.rowcount != 1:
            raise RetryableConflict("the idempotency key is no longer in progress")

    async def release(self, *, user_id: int, scope: str, key: str) -> None:
        await self._conn.execute(
            delete(idempotency_keys).where(
                *self._where(user_id, scope, key), idempotency_keys.c.response == ""
            )
        )

    async def save_many(self, records: Sequence[NewIdempotencyRecord]) -> None:
        now = utcnow()
        rows = [
            {
                "user_id": record.user_id,
                "scope": record.scope,
                "idem_key": record.key,
                "fingerprint": record.fingerprint,
                "response": record.response,
                "created_at": now,
            }
            for record in records
        ]
        try:
            await self._conn.execute(_INSERT_IDEMPOTENCY, rows)
        except IntegrityError as exc:
            # A concurrent request with the same key committed first: run again to replay it.
            raise RetryableConflict("idempotency key taken concurrently") from exc
