"""The users service's mail of the other services' events: in the services topology an order's
and a payment's events are in the orders and payments services' outboxes, so the users service
receives them from the broker, in its own consumer group, and mails them as the monolith's mail
reader does (docs/mail.md, docs/microservices.md).

Each batch goes through `MailReader.deliver`: the mails are taken (`mail_deliveries`) before they
are sent and marked sent once the server accepted them, in the transaction that also records the
events in the inbox; only then are the messages acknowledged. A message delivered again (its
member died, or the acknowledgement was lost) finds its mail sent and sends nothing. A mail
server that is down leaves the messages pending: they come back after the visibility timeout,
however many times it takes (a mail is never parked for an outage). An envelope that is no
event, or an event whose mail cannot be written from its payload, is parked in the dead letters.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial

from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services.follow_loop import Backoff, keep_following
from cloudmall.services.mail import MailBusy, MailReader, MailRunResult
from cloudmall.services.ports import Broker, Delivery, Mail, MailUnavailable, UnitOfWork

log = logging.getLogger(__name__)

#: The users service's consumer group.
USERS_GROUP = "users"
#: The mailed events other contexts record (the users context's own stay on its outbox reader).
USERS_TYPES = frozenset(
    kind.name for kind in (events.ORDER_PLACED, events.ORDER_SHIPPED, events.PAYMENT_REFUNDED)
)


@dataclass(frozen=True, slots=True)
class MailGroup:
    """One member of the users service's consumer group: `member` names this process."""

    mailer: MailReader
    broker: Broker
    stream: str
    member: str
    visibility_seconds: float = 30.0
    batch_size: int = 20  # the most mails a member that dies mid-way can make go out twice
    group: str = USERS_GROUP
    types: frozenset[str] = field(default=USERS_TYPES)

    async def run_once(self, *, block_seconds: float = 0.0) -> MailRunResult:
        """Mail one batch of messages (waiting up to `block_seconds` for one). Raises
        MailUnavailable or MailBusy with the batch left pending: what was sent stays sent."""
        deliveries = await self.broker.receive(
            self.stream,
            self.group,
            self.member,
            count=self.batch_size,
            block_seconds=block_seconds,
            visibility_seconds=self.visibility_seconds,
        )
        composed = await self._compose(
            {
                delivery.event.id: delivery.event
                for delivery in deliveries
                if delivery.event is not None and delivery.event.type in self.types
            }
        )
        handled: dict[str, str] = {}  # message id → event id
        mails: list[tuple[Event, Mail]] = []
        others: list[str] = []
        for delivery in deliveries:
            event = delivery.event
            if event is None:
                await self._park(delivery, "not an event envelope")
            elif event.type not in self.types:
                others.append(delivery.message_id)
            elif event.id in handled.values():  # a republished copy in the same batch
                handled[delivery.message_id] = event.id
            else:
                mail = composed[event.id]
                if isinstance(mail, Exception):  # it never will be
                    await self._park(
                        delivery, f"its mail cannot be written ({type(mail).__name__})"
                    )
                    continue
                handled[delivery.message_id] = event.id
                if mail is not None:  # None: the account is gone
                    mails.append((event, mail))
        await self.broker.ack(self.stream, self.group, others)
        if not handled:
            return MailRunResult(0, 0)
        handled_events = list(dict.fromkeys(handled.values()))
        sent = await self.mailer.deliver(mails, partial(self._record, handled_events))
        await self.broker.ack(self.stream, self.group, list(handled))
        return MailRunResult(sent, 1)

    async def follow(self, *, backoff: Backoff, stop: asyncio.Event) -> None:
        """Mail as messages come until `stop` is set (each batch waits up to the backoff's
        interval on the broker); after a failure wait longer, up to its longest delay."""

        def report(result: MailRunResult) -> None:
            if result.sent:
                log.info("mail: %d sent for the other services' events", result.sent)

        await keep_following(
            partial(self.run_once, block_seconds=backoff.interval),
            name=f"mail: {self.group}",
            backoff=Backoff(interval=0.0, max_delay=backoff.max_delay, start=backoff.interval),
            stop=stop,
            report=report,
            expected=(MailUnavailable, MailBusy),
        )

    async def _compose(self, by_id: dict[str, Event]) -> dict[str, Mail | Exception | None]:
        """Each event's mail (None: the account is gone), their accounts read in one
        transaction; if one of them cannot be written, each is written alone, so that only
        that one gets its error (KeyError, TypeError or ValueError) instead of a mail."""
        try:
            mails = await self.mailer.compose_all(list(by_id.values()))
        except (KeyError, TypeError, ValueError):
            return {event_id: await self._compose_one(event) for event_id, event in by_id.items()}
        return dict(zip(by_id, mails, strict=True))

    async def _compose_one(self, event: Event) -> Mail | Exception | None:
        try:
            return await self.mailer.compose(event)
        except (KeyError, TypeError, ValueError) as exc:
            return exc

    async def _record(self, event_ids: list[str], tx: UnitOfWork) -> None:
        """The events handled, in the transaction that marks their mails sent."""
        for event_id in event_ids:
            await tx.inbox.first_time(self.group, event_id)

    async def _park(self, delivery: Delivery, error: str) -> None:
        # The log names the event, never its payload (it names a customer).
        event = delivery.event
        log.error(
            "mail: %s parked message %s (event %s, %s): %s",
            self.group,
            delivery.message_id,
            event.id if event else "-",
            event.type if event else "-",
            error,
        )
        await self.broker.dead_letter(self.stream, self.group, delivery, error)
