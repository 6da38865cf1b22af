"""The outbox's `broker` reader: the relay that publishes each event to the broker.

At-least-once by construction: a batch is claimed (committed), published, then finished. A relay
that dies between publish and finish gets the same batch back next time and publishes it again;
the copies carry the same event ids, by which consumers skip what they handled (the Inbox).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass

from cloudmall.services.follow_loop import Backoff, keep_following
from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import Broker, UnitOfWorkFactory

#: The outbox consumer the relay is.
BROKER_CONSUMER = "broker"
#: The longest wait between attempts while the broker (or the database) is away.
RELAY_MAX_DELAY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RelayResult:
    events: int
    batches: int
    purged: int


@dataclass(frozen=True, slots=True)
class Relay:
    """Moves the outbox's events to one stream of the broker, batch by batch."""

    uow: UnitOfWorkFactory
    broker: Broker
    stream: str
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged

    async def run_once(self) -> RelayResult:
        """Publish every event waiting now. Raises BrokerUnavailable: what was published and
        finished stays so; the batch at hand is published again by the next run."""
        events = batches = purged = 0
        while (batch := await claim_batch(self.uow, BROKER_CONSUMER, self.batch_size)) is not None:
            await self.broker.publish(self.stream, [entry.event for entry in batch.entries])
            purged += await finish_batch(self.uow, BROKER_CONSUMER, batch, self.consumers)
            events += len(batch.entries)
            batches += 1
        return RelayResult(events, batches, purged)

    async def follow(
        self,
        *,
        backoff: Backoff,
        stop: asyncio.Event,
        report: Callable[[RelayResult], None] = lambda result: None,
    ) -> None:
        """Publish, then again and again until `stop` is set, backing off while the broker (or
        the database) is away; `report` hears of each run that published something."""

        def published_some(result: RelayResult) -> None:
            if result.events:
                report(result)

        await keep_following(
            self.run_once, name="relay", backoff=backoff, stop=stop, report=published_some
        )
