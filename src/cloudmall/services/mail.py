"""Mail from the outbox: after a change commits, its event becomes a mail to the customer.

The reader (`MailReader`, outbox consumer `mail`) claims a batch of events, writes the mail each
one calls for (welcome, order confirmation, shipped, refund, password reset) in the account's
language, and sends it through the MailSender port; it finishes the batch once every mail of it
is sent. Nothing is sent inside the transaction of the change: a mail server that is down delays
mail, never an order, and the events wait in the outbox until the mail goes out.

Delivery is at least once. Each event's mail is taken (a record in the database) before it is
sent and marked sent right after the server accepted it, so a batch handed out again, or the
same batch read by two processes, sends nothing twice. A mail is sent twice only if its process
dies (or loses the database) between the server's acceptance and the mark: then another process
takes it over once the take is `lease_seconds` old. A refused or failed send releases the take
and ends the run; the caller tries again later, with a growing delay (`follow`). A mail the server
refuses for good (no such recipient) is given up and logged, so it cannot hold back later ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.domain.users import Role, User
from cloudmall.services.idempotency import with_retries
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.ports import (
    Mail,
    MailRejected,
    MailSender,
    MailUnavailable,
    OutboxBatch,
    PasswordResetTokens,
    UnitOfWorkFactory,
)

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

    async def run_once(self) -> MailRunResult:
        """Send the mail of every event waiting now. Raises MailUnavailable (the sender failed)
        or MailBusy (another process holds one of the mails): what was sent stays sent."""
        sent = batches = 0
        while (batch := await with_retries(self._claim)) is not None:
            for entry in batch.entries:
                sent += await self._deliver(entry.event)
            await with_retries(lambda: self._finish(batch))
            batches += 1
        return MailRunResult(sent, batches)

    async def follow(
        self,
        *,
        interval: float,
        max_delay: float,
        stop: asyncio.Event,
        report: Callable[[MailRunResult], None] = lambda result: None,
    ) -> None:
        """Send, then again every `interval` seconds until `stop` is set; after a failure wait
        twice as long as the last time (up to `max_delay`) before the next attempt."""
        delay = interval
        while not stop.is_set():
            try:
                result = await self.run_once()
            except (MailUnavailable, MailBusy) as exc:
                delay = min(max_delay, delay * 2)
                log.warning("mail: %s; next attempt in %.0f s", exc, delay)
            except Exception:  # the database may be away for a while: keep the loop alive
                delay = min(max_delay, delay * 2)
                log.exception("mail: the run failed; next attempt in %.0f s", delay)
            else:
                delay = interval
                if result.sent:
                    report(result)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                continue

    async def _claim(self) -> OutboxBatch | None:
        async with self.uow(write=True) as tx:
            batch = await tx.outbox.claim(MAIL_CONSUMER, self.batch_size)
            await tx.commit()
        return batch

    async def _finish(self, batch: OutboxBatch) -> None:
        async with self.uow(write=True) as tx:
            await tx.outbox.finish(MAIL_CONSUMER, batch.name)
            await tx.outbox.purge(self.consumers, len(batch.entries))
            await tx.mail.forget(datetime.now(UTC) - KEEP_RECORDS)
            await tx.commit()

    async def _deliver(self, event: Event) -> int:
        """Send the event's mail if it calls for one and it is not sent yet; 1 if sent now."""
        mail = await self.compose(event)
        if mail is None:
            return 0
        state = await with_retries(lambda: self._take(event.id))
        if state == "sent":
            return 0
        if state == "busy":
            raise MailBusy(f"another process is sending the mail of event {event.id}")
        try:
            await self.sender.send(mail)
        except MailUnavailable:
            await with_retries(lambda: self._release(event.id))
            raise
        except MailRejected as exc:  # a bad address must not hold every later mail back
            log.warning("mail: %s; given up", exc)
        await with_retries(lambda: self._mark_sent(event.id))
        return 1

    async def _take(self, event_id: str) -> str:
        stale_before = datetime.now(UTC) - timedelta(seconds=self.lease_seconds)
        async with self.uow(write=True) as tx:
            state = await tx.mail.take(event_id, stale_before=stale_before)
            await tx.commit()
        return state

    async def _mark_sent(self, event_id: str) -> None:
        async with self.uow(write=True) as tx:
            await tx.mail.mark_sent(event_id)
            await tx.commit()

    async def _release(self, event_id: str) -> None:
        async with self.uow(write=True) as tx:
            await tx.mail.release(event_id)
            await tx.commit()

    async def compose(self, event: Event) -> Mail | None:
        """The mail an event calls for, as of now (the account's current address, name and
        language; a reset link minted now), or None."""
        payload = event.payload
        if event.type == events.USER_SIGNED_UP.name and payload.get("role") != Role.CUSTOMER:
            return None  # staff accounts are made by an operator, who has the password
        if event.type not in MAILED:
            return None
        if event.type == events.PAYMENT_REFUNDED.name:
            user = await self._buyer(int(payload["order_id"]))
        else:
            user = await self._user(int(payload["user_id"]))
        if user is None:
            return None  # the account is gone
        subject, text = self._write(event, user)
        return Mail(to=user.email, subject=subject, text=text, message_id=event.id)

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

    async def _user(self, user_id: int) -> User | None:
        async with self.uow() as tx:
            return await tx.users.get(int(user_id))

    async def _buyer(self, order_id: int) -> User | None:
        async with self.uow() as tx:
            order = await tx.orders.get(order_id)
            return await tx.users.get(order.user_id) if order else None


class MailLoop:
    """The reader in the background of a long-lived process (`Shop.start` / `Shop.stop`)."""

    def __init__(self, reader: MailReader, *, interval: float, max_delay: float) -> None:
        self._reader = reader
        self._interval = interval
        self._max_delay = max_delay
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            follow = self._reader.follow(
                interval=self._interval, max_delay=self._max_delay, stop=self._stop
            )
            self._task = asyncio.get_running_loop().create_task(follow)

    async def stop(self) -> None:
        """Let a mail being sent finish, then stop."""
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None
