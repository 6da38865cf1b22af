"""Mail from the outbox: after a change commits, its event becomes a mail to the customer.

The reader (`MailReader`, outbox consumer `mail`) claims a batch of events, writes the mail each
one calls for (welcome, order confirmation, shipped, refund, password reset) in the account's
language, and sends it through the MailSender port, a batch's mails through one connection; it
finishes the batch once every mail of it is sent. Nothing is sent inside the transaction of the
change: a mail server that is down delays mail, never an order, and the events wait in the
outbox until the mail goes out.

Delivery is at least once. A batch's mails are taken (records in the database, one transaction)
before they are sent, and marked sent, with the batch finished, once the server accepted them
(one more), so a batch handed out again, or read by two processes at once, sends nothing twice.
A mail goes out twice only if its process dies (or loses the database) after sending and before
that mark: then another process takes the batch's mails over once their take is `lease_seconds`
old, so a crash repeats at most one batch's mails (`batch_size`). A failed send marks what went
out, gives back the rest and ends the run; the caller tries again later, with a growing delay
(`follow`). A mail the server
refuses for good (no such recipient) is given up and logged, so it cannot hold back later ones.

In the services topology the order and payment events are in other services' outboxes: the users
service receives them from the broker (services.mail_group) and sends their mails through
`deliver`, the same takes and marks; each mail is written from its event's payload and the
account, never from the orders context's tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.domain.users import Role, User
from cloudmall.services.follow_loop import Backoff, keep_following
from cloudmall.services.idempotency import with_retries
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.outbox_readers import claim_batch
from cloudmall.services.ports import (
    NO_TRACER,
    Mail,
    MailRejected,
    MailSender,
    MailState,
    MailUnavailable,
    OutboxBatch,
    PasswordResetTokens,
    Tracer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.trace_context import handling

log = logging.getLogger(__name__)

#: The outbox consumer mail is.
MAIL_CONSUMER = "mail"
#: The events that call for a mail to their customer.
MAILED = frozenset(
    kind.name
    for kind in (
        events.USER_SIGNED_UP,
        events.PASSWORD_RESET_REQUESTED,
        events.ORDER_PLACED,
        events.ORDER_SHIPPED,
        events.PAYMENT_REFUNDED,
    )
)
#: Delivery records are kept this long after their mail, then forgotten.
KEEP_RECORDS = timedelta(days=7)

#: What records, in the transaction that marks their mails sent, that a run's events are done
#: with (the outbox's batch finished, or the events in the broker consumer's inbox).
Finish = Callable[[UnitOfWork], Awaitable[None]]


class MailBusy(Exception):
    """Another process is sending one of this batch's mails: the batch is finished later."""


@dataclass(frozen=True, slots=True)
class MailRunResult:
    sent: int
    batches: int


@dataclass(frozen=True, slots=True)
class MailReader:
    uow: UnitOfWorkFactory
    sender: MailSender
    reset_tokens: PasswordResetTokens
    texts: MailTexts
    reset_valid_minutes: int
    batch_size: int
    consumers: Collection[str]  # the outbox's readers: an event all of them finished is purged
    lease_seconds: float = 300.0
    # Whether this database holds the orders context's tables (the monolith): a refund event
    # from before its payload named the buyer is then mailed to the order's buyer.
    orders_here: bool = True
    tracer: Tracer = NO_TRACER  # each mail's sending a span in the trace of its event

    async def run_once(self) -> MailRunResult:
        """Send the mail of every event waiting now. Raises MailUnavailable (the sender failed)
        or MailBusy (another process holds one of the mails): what was sent stays sent."""
        sent = batches = 0
        while (batch := await claim_batch(self.uow, MAIL_CONSUMER, self.batch_size)) is not None:
            sent += await self._deliver(batch)
            batches += 1
        return MailRunResult(sent, batches)

    async def follow(
        self,
        *,
        backoff: Backoff,
        stop: asyncio.Event,
        report: Callable[[MailRunResult], None] = lambda result: None,
    ) -> None:
        """Send, then again and again until `stop` is set, backing off while sending fails;
        `report` hears of each run that sent something."""

        def sent_some(result: MailRunResult) -> None:
            if result.sent:
                report(result)

        await keep_following(
            self.run_once,
            name="mail",
            backoff=backoff,
            stop=stop,
            report=sent_some,
            expected=(MailUnavailable, MailBusy),
        )

    async def _deliver(self, batch: OutboxBatch) -> int:
        """Send the batch's mails not sent yet and finish it; how many were sent now."""
        batch_events = [entry.event for entry in batch.entries]
        composed = await self.compose_all(batch_events)
        mails = [
            (event, mail)
            for event, mail in zip(batch_events, composed, strict=True)
            if mail is not None
        ]
        return await self.deliver(mails, partial(self._finish_batch, batch))

    async def deliver(self, mails: Sequence[tuple[Event, Mail]], finish: Finish) -> int:
        """Send the events' mails not sent yet and `finish`; how many were sent now. The mails
        are taken in one transaction and marked sent, with `finish`, in another. Raises
        MailUnavailable (what was not sent is given back) or MailBusy, both without `finish`."""
        ids = [mail.message_id for _, mail in mails]
        states = await with_retries(lambda: self._take(ids))
        taken = [(event, mail) for event, mail in mails if states[mail.message_id] == "taken"]
        done: list[str] = []  # sent, or refused for good: settled either way
        given_up = 0
        async with self.sender.connection() as connection:
            for event, mail in taken:
                try:
                    with handling(self.tracer, event):
                        await connection.send(mail)
                except MailUnavailable:
                    left = [m.message_id for _, m in taken if m.message_id not in done]
                    await with_retries(partial(self._settle, done, left, None))
                    raise
                except MailRejected as exc:  # a bad address must not hold every later mail back
                    log.warning("mail: %s; given up", exc)
                    given_up += 1
                done.append(mail.message_id)
        if "busy" in states.values():
            await with_retries(lambda: self._settle(done, [], None))
            raise MailBusy("another process is sending some of this batch's mails")
        await with_retries(lambda: self._settle(done, [], finish))
        return len(done) - given_up

    async def _take(self, event_ids: Sequence[str]) -> dict[str, MailState]:
        stale_before = datetime.now(UTC) - timedelta(seconds=self.lease_seconds)
        async with self.uow(write=True) as tx:
            states = await tx.mail.take(event_ids, stale_before=stale_before)
            await tx.commit()
        return states

    async def _settle(
        self, sent: Sequence[str], released: Sequence[str], finish: Finish | None
    ) -> None:
        """Mark mails sent, give back the ones not sent, and `finish` if the run is done."""
        async with self.uow(write=True) as tx:
            await tx.mail.mark_sent(sent)
            await tx.mail.release(released)
            if finish is not None:
                await finish(tx)
            await tx.commit()

    async def _finish_batch(self, batch: OutboxBatch, tx: UnitOfWork) -> None:
        await tx.outbox.finish(MAIL_CONSUMER, batch.name)
        await tx.outbox.purge(self.consumers, len(batch.entries))
        await tx.mail.forget(datetime.now(UTC) - KEEP_RECORDS)

    async def compose(self, event: Event) -> Mail | None:
        """The mail an event calls for, as of now (the account's current address, name and
        language; a reset link minted now), or None."""
        return (await self.compose_all([event]))[0]

    async def compose_all(self, batch: Sequence[Event]) -> list[Mail | None]:
        """`compose` of each event, their accounts read in one transaction: the ones the events
        name in one read (a batch of orders is mostly a few customers'), any other once."""
        composed: list[Mail | None] = [None] * len(batch)
        mailed = [(index, event) for index, event in enumerate(batch) if _calls_for_mail(event)]
        if not mailed:
            return composed
        named = {
            int(buyer) for _, event in mailed if (buyer := event.payload.get("user_id")) is not None
        }
        async with self.uow() as tx:
            found = await tx.users.get_many(named)
            users: dict[int, User | None] = {user_id: found.get(user_id) for user_id in named}

            async def account(user_id: int) -> User | None:
                if user_id not in users:
                    users[user_id] = await tx.users.get(user_id)
                return users[user_id]

            for index, event in mailed:
                payload = event.payload
                if "user_id" in payload:
                    buyer = payload["user_id"]
                    user = await account(int(buyer)) if buyer is not None else None
                elif event.type == events.PAYMENT_REFUNDED.name and self.orders_here:  # version 1
                    order = await tx.orders.get(int(payload["order_id"]))
                    user = await account(order.user_id) if order else None
                else:
                    log.warning("mail: %s %s names no customer; no mail", event.type, event.id)
                    continue
                if user is None:
                    continue  # the account is gone, or the event could not say whose it was
                subject, text = self._write(event, user)
                composed[index] = Mail(
                    to=user.email, subject=subject, text=text, message_id=event.id
                )
        return composed

    def _write(self, event: Event, user: User) -> tuple[str, str]:
        payload, texts, language = event.payload, self.texts, user.language
        if event.type == events.USER_SIGNED_UP.name:
            return texts.welcome(language, name=user.name)
        if event.type == events.PASSWORD_RESET_REQUESTED.name:
            return texts.password_reset(
                language,
                name=user.name,
                token=self.reset_tokens.issue(user),
                valid_minutes=self.reset_valid_minutes,
            )
        order_id = int(payload["order_id"])
        if event.type == events.ORDER_PLACED.name:
            return texts.order_placed(
                language,
                name=user.name,
                order_id=order_id,
                amount=payload["amount"],
                lines=payload["lines"],
            )
        if event.type == events.ORDER_SHIPPED.name:
            return texts.order_shipped(
                language,
                name=user.name,
                order_id=order_id,
                carrier=payload.get("carrier") or None,
                tracking=payload.get("tracking_number") or payload.get("tracking") or None,
            )
        return texts.refunded(language, name=user.name, order_id=order_id, amount=payload["amount"])


def _calls_for_mail(event: Event) -> bool:
    if event.type == events.USER_SIGNED_UP.name and event.payload.get("role") != Role.CUSTOMER:
        return False  # staff accounts are made by an operator, who has the password
    return event.type in MAILED
