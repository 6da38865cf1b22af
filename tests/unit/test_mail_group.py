"""The users service's mail of the other services' events (services.mail_group) against fakes:
each order and refund mail goes out once, however often the broker delivers its event, written
from the payload and the account alone; a mail server that is down leaves the events pending,
never parked; what can never be mailed is parked or skipped without holding back the rest."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from cloudmall.domain import events
from cloudmall.services.mail import MailReader
from cloudmall.services.mail_group import USERS_GROUP, MailGroup
from cloudmall.services.ports import BrokerUnavailable, MailUnavailable
from tests.unit.fakes import FakeBroker, FakeMailSender, FakeStore, FakeUnitOfWork
from tests.unit.test_mail import placed, reader, sign_up

pytestmark = pytest.mark.anyio

STREAM = "events"
VISIBILITY = 30.0


def users_service_mailer(store: FakeStore, sender: FakeMailSender) -> MailReader:
    """The users service's reader: its database holds no orders."""
    return replace(reader(store, sender), orders_here=False)


def group(store: FakeStore, broker: FakeBroker, sender: FakeMailSender) -> MailGroup:
    return MailGroup(
        mailer=users_service_mailer(store, sender),
        broker=broker,
        stream=STREAM,
        member="m",
        visibility_seconds=VISIBILITY,
    )


def shipped(order_id: int, user_id: int) -> events.Event:
    return events.new_event(
        events.ORDER_SHIPPED,
        order_id,
        {"order_id": order_id, "user_id": user_id, "amount": "25800.00", "carrier": "CJ"},
    )


def refunded(order_id: int, user_id: int | None) -> events.Event:
    return events.payment_refunded(
        order_id, Decimal("25800"), "ref-1", "requested", user_id=user_id
    )


async def test_order_and_refund_events_are_mailed_once_to_their_buyer(store: FakeStore) -> None:
    buyer = await sign_up(store, "buyer@example.com", language="en")
    other = await sign_up(store, "other@example.com")
    store.data.outbox.clear()  # the welcomes are the users outbox reader's, not the group's
    order, sent_off, refund = placed(7, buyer), shipped(7, buyer), refunded(8, other)
    paid = events.new_event(events.ORDER_PAID, 7, {"order_id": 7, "user_id": buyer})
    broker = FakeBroker()
    # A republished copy of the order's event comes again: one mail all the same.
    await broker.publish(STREAM, [order, paid, order, sent_off, refund])
    sender = FakeMailSender()
    mail = group(store, broker, sender)
    result = await mail.run_once()
    assert result.sent == 3
    assert [(m.to, m.subject) for m in sender.sent] == [
        ("buyer@example.com", "Order #7 received"),
        ("buyer@example.com", "Order #7 is on its way"),
        ("other@example.com", "주문 #8 환불 안내"),
    ]
    assert "Mug × 2  ₩12,900" in sender.sent[0].text and "Carrier: CJ" in sender.sent[1].text
    mailed = [order.id, sent_off.id, refund.id]
    assert [m.message_id for m in sender.sent] == mailed
    assert store.data.inbox == {(USERS_GROUP, event_id) for event_id in mailed}  # paid: no row
    assert all(store.data.mail[event_id][0] for event_id in mailed)  # each marked sent
    broker.advance(VISIBILITY)
    assert (await mail.run_once()).sent == 0  # every message acknowledged: nothing comes back
    assert len(sender.sent) == 3


async def test_a_mail_server_down_leaves_the_events_pending_and_sends_none_twice(
    store: FakeStore,
) -> None:
    buyer = await sign_up(store, "buyer@example.com")
    broker = FakeBroker()
    await broker.publish(STREAM, [placed(n, buyer) for n in (1, 2, 3)])
    sender = FakeMailSender()
    first = sender.send

    async def fail_after_one(mail):  # type: ignore[no-untyped-def]
        if sender.sent:
            raise MailUnavailable("the server went away")
        await first(mail)

    sender.send = fail_after_one  # type: ignore[method-assign]
    mail = group(store, broker, sender)
    with pytest.raises(MailUnavailable):
        await mail.run_once()
    assert len(sender.sent) == 1 and store.data.inbox == set()
    assert len(broker.pending[(STREAM, USERS_GROUP)]) == 3  # none acknowledged
    sender.send = first  # type: ignore[method-assign]
    # The server stays away past many visibility timeouts: the events are never parked.
    for _ in range(8):
        broker.advance(VISIBILITY)
        sender.fail = True
        with pytest.raises(MailUnavailable):
            await mail.run_once()
    assert broker.dead == {}
    sender.fail = False
    broker.advance(VISIBILITY)
    assert (await mail.run_once()).sent == 2  # the first one's mail is not sent again
    subjects = [f"주문 #{n}이(가) 접수되었습니다" for n in (1, 2, 3)]
    assert [m.subject for m in sender.sent] == subjects
    assert broker.pending[(STREAM, USERS_GROUP)] == {}


async def test_an_acknowledgement_lost_after_the_mails_went_out_sends_nothing_again(
    store: FakeStore,
) -> None:
    buyer = await sign_up(store, "buyer@example.com")
    broker = FakeBroker()
    await broker.publish(STREAM, [placed(1, buyer)])
    sender = FakeMailSender()
    mail = group(store, broker, sender)
    ack = broker.ack

    async def lost(stream, group, message_ids):  # type: ignore[no-untyped-def]
        if message_ids:
            raise BrokerUnavailable("the broker went away")

    broker.ack = lost  # type: ignore[method-assign]
    with pytest.raises(BrokerUnavailable):
        await mail.run_once()
    broker.ack = ack  # type: ignore[method-assign]
    broker.advance(VISIBILITY)  # delivered again, to this member or another
    assert (await mail.run_once()).sent == 0
    assert len(sender.sent) == 1
    assert broker.pending[(STREAM, USERS_GROUP)] == {}


async def test_events_that_can_never_be_mailed_do_not_hold_back_the_others(
    store: FakeStore,
) -> None:
    buyer = await sign_up(store, "buyer@example.com")
    broken = events.new_event(events.ORDER_PLACED, 2, {"order_id": 2, "user_id": buyer})
    # A refund recorded before its payload named the buyer: the users service cannot tell whose.
    old_refund = events.new_event(
        events.PAYMENT_REFUNDED, 3, {"order_id": 3, "amount": "1.00", "reason": "requested"}
    )
    gone = placed(4, 999)  # the account is gone
    broker = FakeBroker()
    await broker.publish(STREAM, [broken, old_refund, gone, refunded(5, None), placed(6, buyer)])
    broker.append(STREAM, None)  # not an event envelope
    sender = FakeMailSender()
    result = await group(store, broker, sender).run_once()
    assert result.sent == 1 and [m.subject for m in sender.sent] == ["주문 #6이(가) 접수되었습니다"]
    parked = broker.dead[STREAM]
    assert [(g, event.id if event else None) for g, _, event in parked] == [
        (USERS_GROUP, broken.id),
        (USERS_GROUP, None),
    ]
    assert "KeyError" in parked[0][1]
    assert broker.pending[(STREAM, USERS_GROUP)] == {}


async def test_a_batch_reads_its_accounts_in_one_transaction(store: FakeStore) -> None:
    buyer = await sign_up(store, "buyer@example.com")
    other = await sign_up(store, "other@example.com", language="en")
    broker = FakeBroker()
    batch = [placed(1, buyer), placed(2, other), placed(3, buyer)]
    await broker.publish(STREAM, [*batch, batch[1]])  # and a republished copy
    reads: list[bool] = []

    def counting_uow(*, write: bool = False) -> FakeUnitOfWork:
        if not write:
            reads.append(write)
        return store(write=write)

    sender = FakeMailSender()
    member = group(store, broker, sender)
    member = replace(member, mailer=replace(member.mailer, uow=counting_uow))
    result = await member.run_once()
    assert result.sent == 3 and len(reads) == 1
    assert [(m.to, m.message_id) for m in sender.sent] == [
        ("buyer@example.com", batch[0].id),
        ("other@example.com", batch[1].id),
        ("buyer@example.com", batch[2].id),
    ]
    assert broker.pending[(STREAM, USERS_GROUP)] == {}
