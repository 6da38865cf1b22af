"""The mail reader's delivery records as items, one per event; GSI1 `MAILS` holds them by when
they last changed, for `forget`.

A record may change several times in one unit of work (taken over, then marked sent): it is
written once, as this unit of work leaves it, conditioned on the version the table had when it
was read — so two processes that take one mail together cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import MAILS, mail_key, moment, timestamp
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.services.ports import MailState, RetryableConflict

#: Records one `forget` deletes at most, and the transaction's writes it stops at (a batch's
#: settlement also marks mails sent and purges the outbox): older ones go at the next batch.
MAX_FORGOTTEN = 25
FORGET_WRITES = 95


def _taken_meanwhile() -> Exception:
    return RetryableConflict("mail taken meanwhile")


class DynamoMailDeliveries:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx
        self._stored: dict[str, dict[str, Any] | None] = {}  # as the table had them

    async def _current(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Each record as this unit of work sees it (its own changes included)."""
        unread = [event_id for event_id in event_ids if event_id not in self._stored]
        found = await self._tx.get_many(mail_key(event_id) for event_id in unread)
        for event_id in unread:
            self._stored[event_id] = found.get(mail_key(event_id))
        seen = await self._tx.get_many(mail_key(event_id) for event_id in event_ids)
        return {event_id: seen.get(mail_key(event_id)) for event_id in event_ids}

    def _leave(self, event_id: str, after: dict[str, Any] | None) -> None:
        key = mail_key(event_id)
        before = self._stored[event_id]
        self._tx.unwrite(key, before)
        read = {":version": before["version"]} if before else None
        condition = "#version = :version" if before else "attribute_not_exists(#PK)"
        if after is None:
            if before is not None:
                self._tx.delete(key, condition=condition, values=read, refused=_taken_meanwhile)
            return
        now = timestamp(datetime.now(UTC))
        after = {
            **after,
            "PK": key[0],
            "SK": key[1],
            "GSI1PK": MAILS,
            "GSI1SK": f"{now}#{event_id}",
            "event_id": event_id,
            "updated_at": now,
            "version": int(before["version"]) + 1 if before else 0,
        }
        self._tx.put(after, condition=condition, values=read, refused=_taken_meanwhile)

    async def take(
        self, event_ids: Sequence[str], *, stale_before: datetime
    ) -> dict[str, MailState]:
        states: dict[str, MailState] = {}
        for event_id, record in (await self._current(event_ids)).items():
            if record is None:
                self._leave(event_id, {"sent": False, "attempts": 1})
                states[event_id] = "taken"
            elif record["sent"]:
                states[event_id] = "sent"
            elif moment(record["updated_at"]) < stale_before:  # its process died mid-way
                self._leave(event_id, {"sent": False, "attempts": int(record["attempts"]) + 1})
                states[event_id] = "taken"
            else:
                states[event_id] = "busy"
        return states

    async def mark_sent(self, event_ids: Sequence[str]) -> None:
        for event_id, record in (await self._current(event_ids)).items():
            attempts = int(record["attempts"]) if record else 1
            self._leave(event_id, {"sent": True, "attempts": attempts})

    async def release(self, event_ids: Sequence[str]) -> None:
        for event_id, record in (await self._current(event_ids)).items():
            if record is not None and not record["sent"]:
                self._leave(event_id, None)

    async def forget(self, sent_before: datetime) -> int:
        """At most MAX_FORGOTTEN (see there). The index is eventually consistent: a record
        changed since it was indexed is refused by its version, and the unit of work runs again."""
        indexed = await self._tx.query(
            MAILS, index="GSI1", since="0", until=timestamp(sent_before), limit=MAX_FORGOTTEN
        )
        candidates = [item["event_id"] for item in indexed]
        candidates += [event_id for event_id in self._stored if event_id not in candidates]
        forgotten = 0
        for event_id, record in (await self._current(candidates)).items():
            if forgotten >= MAX_FORGOTTEN or self._tx.writes >= FORGET_WRITES:
                break
            if record is not None and moment(record["updated_at"]) < sent_before:
                self._leave(event_id, None)
                forgotten += 1
        return forgotten
