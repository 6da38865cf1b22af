"""Consuming the broker's events idempotently: the inbox, and parking what cannot be handled.

Each message is handled in one unit of work that also records the event in the inbox; the
message is acknowledged only after that commits. So a member that dies before the commit leaves
nothing and the message is redelivered; one that dies after it, before the acknowledgement,
gets the message again and finds the event in the inbox: acknowledged without running the
handler again. A handler that fails leaves its message pending (delivered again after the
visibility timeout); after `max_deliveries` deliveries the message is parked in the stream's
dead letters instead, and the error logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from cloudmall.domain.events import Event
from cloudmall.services.follow_loop import Backoff, keep_following
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import (
    NO_TRACER,
    Broker,
    Delivery,
    Tracer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.trace_context import handling

log = logging.getLogger(__name__)

#: What a handler leaves for after its transaction committed (a cache to invalidate).
AfterCommit = Callable[[], Awaitable[None]]
#: What a consuming service does with an event, inside the unit of work that records it handled;
#: it may return what to do once that committed.
EventHandler = Callable[[Event, UnitOfWork], Awaitable[AfterCommit | None]]


@dataclass(slots=True)
class ConsumeResult:
    handled: int = 0
    skipped: int = 0  # handled before (a redelivery or a republished copy)
    failed: int = 0  # left pending for a later delivery
    parked: int = 0  # moved to the dead letters


@dataclass(frozen=True, slots=True)
class EventConsumer:
    """One member of a consumer group: `group` names the consuming service (and its inbox's
    entries), `member` this process within it."""

    uow: UnitOfWorkFactory
    broker: Broker
    stream: str
    group: str
    member: str
    handler: EventHandler
    max_deliveries: int = 5
    visibility_seconds: float = 30.0
    batch_size: int = 100
    # The event types the group handles: others are acknowledged without a transaction (and
    # without an inbox row). None: every type.
    types: frozenset[str] | None = None
    tracer: Tracer = NO_TRACER  # each handling a span in the trace that recorded the event

    async def run_once(self, *, block_seconds: float = 0.0) -> ConsumeResult:
        """Handle one batch of messages (waiting up to `block_seconds` for one)."""
        result = ConsumeResult()
        deliveries = await self.broker.receive(
            self.stream,
            self.group,
            self.member,
            count=self.batch_size,
            block_seconds=block_seconds,
            visibility_seconds=self.visibility_seconds,
        )
        for delivery in deliveries:
            await self._one(delivery, result)
        return result

    async def follow(
        self,
        *,
        stop: asyncio.Event,
        block_seconds: float = 1.0,
        max_delay: float = 30.0,
    ) -> None:
        """Handle messages as they come until `stop` is set (no pause between batches: each
        waits up to `block_seconds` on the broker); after a failure of the broker or the
        database wait twice as long as the last time, from `block_seconds` up to `max_delay`."""
        await keep_following(
            partial(self.run_once, block_seconds=block_seconds),
            name=f"events: {self.group}",
            backoff=Backoff(interval=0.0, max_delay=max_delay, start=block_seconds),
            stop=stop,
        )

    async def _one(self, delivery: Delivery, result: ConsumeResult) -> None:
        event = delivery.event
        if event is None:
            await self._park(delivery, "not an event envelope", result)
            return
        if self.types is not None and event.type not in self.types:
            await self.broker.ack(self.stream, self.group, [delivery.message_id])
            result.skipped += 1
            return
        if delivery.deliveries > self.max_deliveries:  # its members died handling it, each time
            await self._park(delivery, f"delivered {delivery.deliveries} times", result)
            return
        try:
            first = await self._handle_traced(event)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if delivery.deliveries >= self.max_deliveries:
                await self._park(delivery, error, result)
                return
            log.warning(
                "events: %s failed on %s (%s), delivery %d of %d: %s",
                self.group,
                event.id,
                event.type,
                delivery.deliveries,
                self.max_deliveries,
                error,
            )
            result.failed += 1
            return
        await self.broker.ack(self.stream, self.group, [delivery.message_id])
        if first:
            result.handled += 1
        else:
            result.skipped += 1

    async def _handle_traced(self, event: Event) -> bool:
        """Handle the event (retried on conflicts) and what follows its commit, in one span;
        False if it was handled before."""
        with handling(self.tracer, event):
            first, after = await with_retries(lambda: self._handle(event))
            if after is not None:
                await self._after_commit(event, after)
        return first

    async def _handle(self, event: Event) -> tuple[bool, AfterCommit | None]:
        """Run the handler and record the event in one transaction; False if it was handled
        before (nothing run), and what the handler left for after the commit."""
        async with self.uow(write=True) as tx:
            if not await tx.inbox.first_time(self.group, event.id):
                return False, None
            after = await self.handler(event, tx)
            await tx.commit()
        return True, after

    async def _after_commit(self, event: Event, after: AfterCommit) -> None:
        # The event is handled (committed) whatever happens here: a failure is only logged.
        try:
            await after()
        except Exception:
            log.exception("events: %s handled %s (%s); what follows failed", self.group, event.id,
                          event.type)  # fmt: skip

    async def _park(self, delivery: Delivery, error: str, result: ConsumeResult) -> None:
        # The envelope goes to the dead letters; the log names the event, never its payload.
        event = delivery.event
        log.error(
            "events: %s parked message %s (event %s, %s) after %d deliveries: %s",
            self.group,
            delivery.message_id,
            event.id if event else "-",
            event.type if event else "-",
            delivery.deliveries,
            error,
        )
        await self.broker.dead_letter(self.stream, self.group, delivery, error)
        result.parked += 1
