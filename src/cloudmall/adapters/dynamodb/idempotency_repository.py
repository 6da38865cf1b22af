"""Idempotency records (first answers and claims), one item per (user, scope, key)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import idempotency_key, moment, timestamp
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.services.ports import IdempotencyRecord, NewIdempotencyRecord, RetryableConflict


def _record(item: dict[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(item["fingerprint"], item["response"], moment(item["created_at"]))


def _taken() -> Exception:
    return RetryableConflict("idempotency key taken concurrently")


def _not_in_progress() -> Exception:
    return RetryableConflict("the idempotency key is no longer in progress")


_IN_PROGRESS = "#response = :empty"


class DynamoIdempotencyRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def get(self, *, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
        item = await self._tx.get(idempotency_key(user_id, scope, key))
        return _record(item) if item else None

    async def get_many(
        self, *, scope: str, keys: Collection[tuple[int, str]]
    ) -> dict[tuple[int, str], IdempotencyRecord]:
        by_key = {idempotency_key(user_id, scope, key): (user_id, key) for user_id, key in keys}
        found = await self._tx.get_many(by_key)
        return {by_key[item_key]: _record(item) for item_key, item in found.items()}

    async def claim(self, *, user_id: int, scope: str, key: str, fingerprint: str) -> bool:
        if await self.get(user_id=user_id, scope=scope, key=key) is not None:
            return False
        await self.save_many([NewIdempotencyRecord(user_id, scope, key, fingerprint, "")])
        return True

    async def take_over(
        self, *, user_id: int, scope: str, key: str, claimed_before: datetime
    ) -> bool:
        item_key = idempotency_key(user_id, scope, key)
        before = await self._tx.get(item_key)
        if before is None or before["response"] or moment(before["created_at"]) >= claimed_before:
            return False
        now = timestamp(datetime.now(UTC))
        self._tx.update(
            item_key,
            set_={"created_at": now},
            condition=f"{_IN_PROGRESS} AND #created_at = :claimed",
            values={":empty": "", ":claimed": before["created_at"]},
            after={**before, "created_at": now},
            refused=_taken,
        )
        return True

    async def complete(self, *, user_id: int, scope: str, key: str, response: str) -> None:
        item_key = idempotency_key(user_id, scope, key)
        before = await self._tx.get(item_key)
        if before is None or before["response"]:
            raise _not_in_progress()
        self._tx.update(
            item_key,
            set_={"response": response},
            condition=_IN_PROGRESS,
            values={":empty": ""},
            after={**before, "response": response},
            refused=_not_in_progress,
        )

    async def release(self, *, user_id: int, scope: str, key: str) -> None:
        item_key = idempotency_key(user_id, scope, key)
        before = await self._tx.get(item_key)
        if before is not None and not before["response"]:
            self._tx.delete(
                item_key, condition=_IN_PROGRESS, values={":empty": ""}, refused=_not_in_progress
            )

    async def save_many(self, records: Sequence[NewIdempotencyRecord]) -> None:
        keys = [idempotency_key(r.user_id, r.scope, r.key) for r in records]
        if await self._tx.get_many(keys):  # (read already when the caller looked them up)
            raise _taken()
        if not records:
            return
        # An id of its own and its parts as attributes, as SQL's row has (for backups).
        first = await self._tx.next_ids("idempotency", len(records))
        now = timestamp(datetime.now(UTC))
        for record_id, record in enumerate(records, start=first):
            item_key = idempotency_key(record.user_id, record.scope, record.key)
            item = {
                "PK": item_key[0],
                "SK": item_key[1],
                "id": record_id,
                "user_id": record.user_id,
                "scope": record.scope,
                "idem_key": record.key,
                "fingerprint": record.fingerprint,
                "response": record.response,
                "created_at": now,
            }
            self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_taken)
