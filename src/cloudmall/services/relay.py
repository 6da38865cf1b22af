"""The outbox's `broker` reader: the relay that publishes each event to the broker.

At-least-once by construction: a batch is claimed (committed), published, then finished. A relay
that dies between publish and finish gets the same batch back next time and publishes it again;
the copies carry the same event ids, by which consumers skip what they handled (the Inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from cloudmall.services.outbox_readers import claim_batch, finish_batch
from cloudmall.services.ports import Broker, UnitOfWorkFactory

log = logging.getLogger(__name__)

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
        interval: float,
        max_delay: float,
        stop: asyncio.Event,
        report: Callable[[RelayResult], None] = lambda result: None,
    ) -> None:
        """Publish, then again every `interval` seconds until `stop` is set; after a failure
        (broker or database away) wait twice as long as the last time, up to `max_delay`."""
        delay = interval
        while not stop.is_set():
            try:
                result = await self.run_once()
            except Exception:  # a tier may be away for a while: keep the loop alive
                delay = min(max_delay, delay * 2)
                log.exception("relay: the run failed; next attempt in %.0f s", delay)
            else:
                delay = interval
                if result.events:
                    report(result)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
