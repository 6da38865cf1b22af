"""Mail from the outbox, against fakes: which events make which mail in whose language, and
that a failing mail server loses nothing and sends nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloudmall.domain import events
from cloudmall.domain.orders import OrderLine
from cloudmall.services import accounts
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.mail import MAIL_CONSUMER, MailBusy, MailReader, MailRunResult
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.outbox_readers import BackgroundLoop
from cloudmall.services.ports import Mail, MailUnavailable, NewOrder
from tests.unit.fakes import (
    FakeHasher,
    FakeMailSender,
    FakeResetTokens,
    FakeStore,
    FakeUnitOfWork,
)

pytestmark = pytest.mark.anyio
PASSWORD = "a long passphrase"


def reader(store: FakeStore, sender: FakeMailSender, batch_size: int = 10) -> MailReader:
    return MailReader(
        uow=store,
        sender=sender,
        reset_tokens=FakeResetTokens(),
        texts=MailTexts(public_url="https://shop.example.com", currency="KRW"),
        reset_valid_minutes=60,
        batch_size=batch_size,
        consumers=(MAIL_CONSUMER,),
        lease_seconds=300,
    )


async def sign_up(store: FakeStore, email: str, language: str | None = None) -> int:
    user = await accounts.sign_up(
        uow=store,
        hasher=FakeHasher(),
        email=email,
        password=PASSWORD,
        name="Kim",
        language=language,
    )
    return user.id


async def record(store: FakeStore, *made: events.Event) -> None:
    async with store(write=True) as tx:
        await tx.outbox.add(made)
        await tx.commit()


def placed(order_id: int, user_id: int) -> events.Event:
    return events.new_event(
        events.ORDER_PLACED,
        order_id,
        {
            "order_id": order_id,
            "user_id": user_id,
            "amount": "25800.00",
            "lines": [
                {"product_id": 1, "product_name": "Mug", "quantity": 2, "unit_price": "12900.00"}
            ],
        },
    )


async def test_a_sign_up_gets_a_welcome_in_the_language_it_chose(store: FakeStore) -> None:
    await sign_up(store, "kim@example.com")
    await sign_up(store, "lee@example.com", language="en")
    sender = FakeMailSender()
    result = await reader(store, sender).run_once()
    assert result.sent == 2
    korean, english = sender.sent
    assert (korean.to, korean.subject) == ("kim@example.com", "cloudmall에 오신 것을 환영합니다")
    assert (english.to, english.subject) == ("lee@example.com", "Welcome to cloudmall")
    assert store.data.outbox == []  # mail was the only reader: the events are done with


async def test_staff_accounts_get_no_welcome(store: FakeStore) -> None:
    await accounts.make_admin(
        uow=store, hasher=FakeHasher(), email="ops@example.com", password=PASSWORD, name="Ops"
    )
    sender = FakeMailSender()
    await reader(store, sender).run_once()
    assert sender.sent == []


async def test_order_shipping_and_refund_mails_say_what_happened(store: FakeStore) -> None:
    user_id = await sign_up(store, "buyer@example.com", language="en")
    await record(
        store,
        placed(7, user_id),
        events.new_event(
            events.ORDER_SHIPPED,
            7,
            {
                "order_id": 7,
                "user_id": user_id,
                "amount": "25800.00",
                "carrier": "CJ Logistics",
                "tracking_number": "6543-2100-9876",
            },
        ),
        events.new_event(
            events.ORDER_SHIPPED, 8, {"order_id": 8, "user_id": user_id, "amount": "1.00"}
        ),
    )
    sender = FakeMailSender()
    await reader(store, sender).run_once()
    _, confirmation, shipped, shipped_plain = sender.sent
    assert confirmation.subject == "Order #7 received"
    assert "Mug × 2  ₩12,900" in confirmation.text and "Total: ₩25,800" in confirmation.text
    assert "https://shop.example.com/#/orders/7" in confirmation.text
    assert shipped.subject == "Order #7 is on its way"
    assert "Carrier: CJ Logistics" in shipped.text
    assert "Tracking number: 6543-2100-9876" in shipped.text
    assert "Carrier" not in shipped_plain.text  # an event without them: no empty lines


async def test_a_refund_mail_goes_to_the_buyer_its_event_names(store: FakeStore) -> None:
    user_id = await sign_up(store, "buyer@example.com")
    await record(
        store,
        events.payment_refunded(
            41, Decimal("12900.00"), "ref-1", "order_not_pending", user_id=user_id
        ),
    )
    sender = FakeMailSender()
    await reader(store, sender).run_once()
    refund = sender.sent[-1]
    assert (refund.to, refund.subject) == ("buyer@example.com", "주문 #41 환불 안내")
    assert "₩12,900" in refund.text


async def test_a_refund_recorded_before_its_event_named_the_buyer_goes_to_the_orders_buyer(
    store: FakeStore,
) -> None:
    user_id = await sign_up(store, "buyer@example.com")
    line = OrderLine(product_id=1, product_name="Mug", quantity=1, unit_price=Decimal("12900"))
    async with store(write=True) as tx:
        (order,) = await tx.orders.add_many([NewOrder(user_id, (line,), Decimal("12900"))])
        await tx.commit()
    version_1 = {"order_id": order.id, "amount": "12900.00", "reference": "r", "reason": "x"}
    await record(store, events.new_event(events.PAYMENT_REFUNDED, order.id, version_1))
    sender = FakeMailSender()
    await reader(store, sender).run_once()
    refund = sender.sent[-1]
    assert (refund.to, refund.subject) == ("buyer@example.com", f"주문 #{order.id} 환불 안내")


async def test_a_failing_server_loses_nothing_and_sends_nothing_twice(store: FakeStore) -> None:
    for n in range(3):
        await sign_up(store, f"user{n}@example.com")
    sender = FakeMailSender()
    mailer = reader(store, sender, batch_size=10)
    first = sender.send

    async def fail_after_one(mail):  # type: ignore[no-untyped-def]
        if sender.sent:
            raise MailUnavailable("the server went away")
        await first(mail)

    sender.send = fail_after_one  # type: ignore[method-assign]
    with pytest.raises(MailUnavailable):
        await mailer.run_once()
    assert [m.to for m in sender.sent] == ["user0@example.com"]
    assert len(store.data.outbox) == 3  # the batch is not finished: nothing left the outbox

    sender.send = first  # type: ignore[method-assign]
    await mailer.run_once()  # the same batch again: the mail sent before is not sent again
    assert [m.to for m in sender.sent] == [f"user{n}@example.com" for n in range(3)]
    assert store.data.outbox == []


async def test_another_processs_mail_in_flight_is_not_sent_twice(store: FakeStore) -> None:
    await sign_up(store, "kim@example.com")
    event_id = store.data.outbox[0].event.id
    store.data.mail[event_id] = (False, datetime.now(UTC))  # another process is sending it
    sender = FakeMailSender()
    with pytest.raises(MailBusy):
        await reader(store, sender).run_once()
    assert sender.sent == []
    # That process died: once its take is older than the lease, the mail is taken over.
    store.data.mail[event_id] = (False, datetime.now(UTC) - timedelta(seconds=301))
    await reader(store, sender).run_once()
    assert [m.to for m in sender.sent] == ["kim@example.com"]


async def test_a_refused_recipient_does_not_hold_back_later_mail(store: FakeStore) -> None:
    await sign_up(store, "gone@example.com")
    await sign_up(store, "kim@example.com")
    sender = FakeMailSender()
    sender.rejected.add("gone@example.com")
    await reader(store, sender).run_once()
    assert [m.to for m in sender.sent] == ["kim@example.com"]
    assert store.data.outbox == []


async def test_follow_retries_with_a_growing_delay_until_the_server_is_back(
    store: FakeStore,
) -> None:
    await sign_up(store, "kim@example.com")
    sender = FakeMailSender()
    sender.fail = True
    stop = asyncio.Event()
    task = asyncio.create_task(
        reader(store, sender).follow(backoff=Backoff(interval=0.01, max_delay=0.05), stop=stop)
    )
    await asyncio.sleep(0.1)
    assert sender.sent == [] and len(store.data.outbox) == 1
    sender.fail = False
    for _ in range(100):
        if sender.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert [m.to for m in sender.sent] == ["kim@example.com"]


async def test_a_reset_mail_carries_a_link_minted_at_send_time(store: FakeStore) -> None:
    user_id = await sign_up(store, "kim@example.com", language="en")
    await record(store, events.password_reset_requested(user_id))
    assert all("token" not in str(e.event.payload) for e in store.data.outbox)
    sender = FakeMailSender()
    await reader(store, sender).run_once()
    reset = sender.sent[-1]
    assert reset.subject == "Reset your cloudmall password"
    assert f"https://shop.example.com/#/reset-password?token={user_id}:0:ok" in reset.text
    assert "within 60 minutes" in reset.text


async def test_a_deleted_account_gets_no_mail(store: FakeStore) -> None:
    await record(store, events.password_reset_requested(999))
    sender = FakeMailSender()
    assert (await reader(store, sender).run_once()).sent == 0
    assert sender.sent == [] and store.data.outbox == []


def test_money_in_each_currency() -> None:
    assert MailTexts("https://x", "KRW").money("1234567.00") == "₩1,234,567"
    assert MailTexts("https://x", "USD").money("12.5") == "12.50 USD"


async def test_a_stopping_process_cuts_off_a_hung_mail_server_and_loses_nothing(
    store: FakeStore,
) -> None:
    await sign_up(store, "kim@example.com")
    sender = FakeMailSender()
    hung = asyncio.Event()

    async def hang(mail: Mail) -> None:
        hung.set()
        await asyncio.Event().wait()  # a server that never answers

    sender.send = hang  # type: ignore[method-assign]
    loop = BackgroundLoop(reader(store, sender), backoff=Backoff(interval=0.01, max_delay=0.05))
    loop.start()
    await asyncio.wait_for(hung.wait(), 5)
    await asyncio.wait_for(loop.stop(grace_seconds=0.05), 5)
    assert len(store.data.outbox) == 1  # still waiting for the next process


class ReadCounting(FakeStore):
    """Counts the read-only transactions (the mail reader's reads of accounts and orders)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        self.reads += not write
        return super().__call__(write=write)


async def test_each_batch_goes_through_one_connection_and_an_empty_run_opens_none() -> None:
    store = FakeStore()
    for n in range(5):
        await sign_up(store, f"u{n}@example.com", language="en")
    sender = FakeMailSender()
    mailer = reader(store, sender, batch_size=2)
    assert await mailer.run_once() == MailRunResult(sent=5, batches=3)
    assert sender.connections == 3
    assert await mailer.run_once() == MailRunResult(sent=0, batches=0)
    assert sender.connections == 3


async def test_a_batch_of_orders_reads_its_accounts_in_one_transaction() -> None:
    store = ReadCounting()
    kim = await sign_up(store, "kim@example.com", language="en")
    lee = await sign_up(store, "lee@example.com", language="en")
    await record(store, *(placed(order_id, (kim, lee)[order_id % 2]) for order_id in range(1, 9)))
    sender = FakeMailSender()
    store.reads = 0
    result = await reader(store, sender, batch_size=20).run_once()
    assert result == MailRunResult(sent=10, batches=1)  # two welcomes, eight confirmations
    assert store.reads == 1
    assert sender.connections == 1  # the batch's mails through one connection
    confirmations = [mail for mail in sender.sent if mail.subject.startswith("Order")]
    assert [(mail.to, mail.subject) for mail in confirmations] == [
        (("kim@example.com", "lee@example.com")[order_id % 2], f"Order #{order_id} received")
        for order_id in range(1, 9)
    ]
