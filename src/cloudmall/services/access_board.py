"""The users context's outbox reader `access`: it publishes each account whose access changed
(`user.access_changed`) to the access board, which the services without the accounts read
(services.access.BoardAccessCheck).

It runs in the users service (with a broker: the board is on the broker's Redis). What it
publishes is the account as it is when the reader reads it, not as the event describes it, so a
batch handed out again, or two batches racing, publish nothing older than their events; the
stamp (the latest event's time) and the token version let the board keep the newest of two
publishes (services.ports.AccessBoard). A board that is down fails the batch, which is handed
out again later: a change is published late, never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cloudmall.domain.events import USER_ACCESS_CHANGED
from cloudmall.services.follow_loop import Backoff, follow_counting
from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import (
    AccessBoard,
    AccessBoardUnavailable,
    AccountAccess,
    OutboxEntry,
    UnitOfWorkFactory,
)

#: The outbox reader that publishes accounts' access (config.OUTBOX_CONSUMERS).
ACCESS_CONSUMER = "access"
#: A board entry outlives the longest access token by this much (the services' clocks differ).
CLOCK_MARGIN_SECONDS = 60


def board_ttl_seconds(token_ttl_seconds: int) -> int:
    """How long a board entry lives: past the end of every token issued before its change."""
    return token_ttl_seconds + CLOCK_MARGIN_SECONDS


def latest_changes(entries: Sequence[OutboxEntry]) -> dict[int, int]:
    """Account id → the time of its latest access change in `entries`, in microseconds."""
    latest: dict[int, int] = {}
    for entry in entries:
        event = entry.event
        if event.type == USER_ACCESS_CHANGED.name:
            user_id = int(event.payload["user_id"])
            stamp = int(event.occurred_at.timestamp() * 1_000_000)
            latest[user_id] = max(latest.get(user_id, stamp), stamp)
    return latest


@dataclass(frozen=True, slots=True)
class AccessPublisher:
    uow: UnitOfWorkFactory
    board: AccessBoard
    ttl_seconds: int  # a board entry's lifetime: board_ttl_seconds
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged

    async def run_once(self) -> int:
        """Publish every account changed in the events waiting now; how many events were read.
        Raises AccessBoardUnavailable: the batch at hand is published again by the next run."""
        read = 0
        while (batch := await claim_batch(self.uow, ACCESS_CONSUMER, self.batch_size)) is not None:
            await self.publish(latest_changes(batch.entries))
            await finish_batch(self.uow, ACCESS_CONSUMER, batch, self.consumers)
            read += len(batch.entries)
        return read

    async def publish(self, changes: dict[int, int]) -> None:
        """Publish each account (by id, with its change's stamp) as it is now."""
        if not changes:
            return
        async with self.uow() as tx:
            users = {user_id: await tx.users.get(user_id) for user_id in changes}
        for user_id, stamp in changes.items():
            user = users[user_id]
            access = (
                AccountAccess(user.token_version, user.role, user.must_change_password)
                if user is not None
                else AccountAccess(0, None)
            )
            await self.board.publish(user_id, access, stamp=stamp, ttl_seconds=self.ttl_seconds)

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        name = f"{ACCESS_CONSUMER} reader"
        await follow_counting(
            self.run_once, name=name, backoff=backoff, stop=stop, expected=(AccessBoardUnavailable,)
        )
