"""Mail for real: the SMTP adapter against a real SMTP server (aiosmtpd), the .eml folder, and
the outbox's mail reader on each database: a server that refuses mail loses none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.mail.files import FolderMailSender
from cloudmall.adapters.mail.smtp import SmtpMailSender, SmtpServer
from cloudmall.adapters.security.reset_tokens import JwtPasswordResetTokens
from cloudmall.services import accounts
from cloudmall.services.mail import MAIL_CONSUMER, MailReader
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.ports import Mail, MailConnection, MailRejected, MailUnavailable
from tests.mail_server import mail_server
from tests.unit.fakes import FakeHasher

pytestmark = [
    pytest.mark.anyio,
    # The test server takes a log-in over plain SMTP (the adapter's TLS is stdlib's own).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
SENDER = "cloudmall <no-reply@cloudmall.example>"
MAIL = Mail(
    to="kim@example.com",
    subject="주문 #7이(가) 접수되었습니다",
    text="김님, 주문해 주셔서 감사합니다.\n합계: ₩25,800\n",
    message_id="0b7e4f1a-event-id",
)


async def test_smtp_delivers_a_korean_mail_with_a_log_in() -> None:
    with mail_server(login=("mailer", "p@ss:word/1")) as server:
        url = server.url("mailer:p%40ss%3Aword%2F1")  # the password URL-encoded, as a URL needs
        await SmtpMailSender(SmtpServer.from_url(url), sender=SENDER).send(MAIL)
        (got,) = server.received.wait_for("kim@example.com")
    assert got["Subject"] == MAIL.subject and got["From"] == SENDER
    assert got.get_content().replace("\r\n", "\n") == MAIL.text  # CRLF on the wire
    assert "0b7e4f1a-event-id" in got["Message-ID"]


async def test_smtp_refusals_and_a_wrong_password_are_retryable_failures() -> None:
    with mail_server(login=("mailer", "right")) as server:
        wrong = SmtpMailSender(SmtpServer.from_url(server.url("mailer:wrong")), sender=SENDER)
        with pytest.raises(MailUnavailable):
            await wrong.send(MAIL)
    with mail_server() as server:
        server.received.refusing = True
        sender = SmtpMailSender(SmtpServer.from_url(server.url()), sender=SENDER)
        with pytest.raises(MailUnavailable):
            await sender.send(MAIL)
        assert server.received.refusals == 1 and server.received.messages == []
    with pytest.raises(MailUnavailable):  # nobody listening any more
        await sender.send(MAIL)


async def test_a_batch_goes_through_one_smtp_session_past_a_refused_recipient() -> None:
    """One log-in for a batch, not one per mail; a recipient refused for good is given up and
    the session goes on with the next mail."""
    mails = [replace(MAIL, to=f"u{n}@example.com", message_id=f"e{n}") for n in range(4)]
    with mail_server(login=("mailer", "pw")) as server:
        server.received.unknown = {"u1@example.com"}
        sender = SmtpMailSender(SmtpServer.from_url(server.url("mailer:pw")), sender=SENDER)
        async with sender.connection() as connection:
            for mail in mails:
                if mail.to == "u1@example.com":
                    with pytest.raises(MailRejected):
                        await connection.send(mail)
                else:
                    await connection.send(mail)
        async with sender.connection():
            pass  # an empty batch connects to nothing
        await sender.send(mails[0])  # one mail alone: a session of its own
    got = server.received
    assert [m["To"] for m in got.messages] == [
        "u0@example.com",
        "u2@example.com",
        "u3@example.com",
        "u0@example.com",
    ]
    assert len(set(got.peers[:3])) == 1 and got.peers[3] != got.peers[0]


async def test_a_session_the_server_dropped_fails_as_unavailable_and_the_next_reconnects() -> None:
    with mail_server() as server:
        sender = SmtpMailSender(SmtpServer.from_url(server.url()), sender=SENDER)
        async with sender.connection() as connection:
            await connection.send(MAIL)
            server.received.refusing = True
            with pytest.raises(MailUnavailable):
                await connection.send(MAIL)
            server.received.refusing = False
        async with sender.connection() as connection:
            await connection.send(MAIL)
    assert len(server.received.messages) == 2
    assert server.received.peers[0] != server.received.peers[1]


def test_smtp_urls() -> None:
    plain = SmtpServer.from_url("smtp://127.0.0.1:2525")
    assert (plain.port, plain.tls, plain.starttls, plain.username) == (2525, False, False, None)
    ses = SmtpServer.from_url(
        "smtp://AKIA:secret%2Fkey@email-smtp.ap-northeast-2.amazonaws.com:587?starttls=true"
    )
    assert (ses.port, ses.starttls, ses.username, ses.password) == (587, True, "AKIA", "secret/key")
    assert SmtpServer.from_url("smtps://u:p@mail.example.com").port == 465
    with pytest.raises(ValueError, match="CLOUDMALL_SMTP_URL"):
        SmtpServer.from_url("http://mail.example.com")


async def test_the_folder_keeps_each_mail_as_an_eml_file(tmp_path: Path) -> None:
    sender = FolderMailSender(tmp_path / "mail", sender=SENDER)
    await sender.send(MAIL)
    await sender.send(MAIL)  # the same mail again replaces its file
    (path,) = (tmp_path / "mail").iterdir()
    assert path.name == "0b7e4f1a-event-id.eml"
    assert path.stat().st_mode & 0o777 == 0o600  # a reset link is as good as a password
    text = path.read_bytes()
    assert b"Subject: =?utf-8?" in text and b"To: kim@example.com" in text


def reader(uow: SqlUnitOfWorkFactory, url: str) -> MailReader:
    return MailReader(
        uow=uow,
        sender=SmtpMailSender(SmtpServer.from_url(url), sender=SENDER),
        reset_tokens=JwtPasswordResetTokens(
            secret="s" * 64, issuer="cloudmall", audience="reset", ttl_seconds=600
        ),
        texts=MailTexts(public_url="http://127.0.0.1:8000", currency="KRW"),
        reset_valid_minutes=10,
        batch_size=2,
        consumers=(MAIL_CONSUMER,),
    )


async def sign_up(uow: SqlUnitOfWorkFactory, email: str) -> None:
    await accounts.sign_up(
        uow=uow, hasher=FakeHasher(), email=email, password="a long passphrase", name="Kim"
    )


async def test_a_failing_mail_server_loses_no_mail(uow: SqlUnitOfWorkFactory) -> None:
    emails = [f"user{n}@example.com" for n in range(3)]
    for address in emails:
        await sign_up(uow, address)
    with mail_server() as server:
        mailer = reader(uow, server.url())
        server.received.refusing = True
        with pytest.raises(MailUnavailable):
            await mailer.run_once()
        async with uow() as tx:
            assert await tx.outbox.backlog(MAIL_CONSUMER) == 3  # all still waiting
        server.received.refusing = False
        result = await mailer.run_once()
        assert (result.sent, result.batches) == (3, 2)
        assert sorted(m["To"] for m in server.received.messages) == emails
        assert len(set(server.received.peers)) == 2  # one SMTP session per batch of 2
        assert (await mailer.run_once()).sent == 0  # nothing twice
        async with uow() as tx:
            assert await tx.outbox.backlog(MAIL_CONSUMER) == 0


async def test_a_mail_server_gone_mid_batch_sends_the_rest_later_and_none_twice(
    uow: SqlUnitOfWorkFactory,
) -> None:
    await sign_up(uow, "first@example.com")
    await sign_up(uow, "second@example.com")
    with mail_server() as server:
        url = server.url()
        smtp = SmtpMailSender(SmtpServer.from_url(url), sender=SENDER)

        class AcceptOneThenRefuse:
            @asynccontextmanager
            async def connection(self) -> AsyncIterator[MailConnection]:
                async with smtp.connection() as session:

                    class Once:
                        async def send(self, mail: Mail) -> None:
                            await session.send(mail)
                            server.received.refusing = True  # it took one, then turned away

                    yield Once()

            async def send(self, mail: Mail) -> None:
                raise AssertionError("the reader sends through a connection")

        mailer = replace(reader(uow, url), sender=AcceptOneThenRefuse())
        with pytest.raises(MailUnavailable):
            await mailer.run_once()
        assert [m["To"] for m in server.received.messages] == ["first@example.com"]
        server.received.refusing = False
        await reader(uow, url).run_once()  # the same batch again, by a fresh reader
        assert [m["To"] for m in server.received.messages] == [
            "first@example.com",
            "second@example.com",
        ]


async def test_delivery_records_on_the_database(uow: SqlUnitOfWorkFactory) -> None:
    now = datetime.now(UTC)
    lease = now - timedelta(minutes=5)
    async with uow(write=True) as tx:
        assert await tx.mail.take(["e1", "e2"], stale_before=lease) == {
            "e1": "taken",
            "e2": "taken",
        }
        await tx.commit()
    async with uow(write=True) as tx:  # another process, while the first is at it
        assert await tx.mail.take(["e1", "e3"], stale_before=lease) == {
            "e1": "busy",
            "e3": "taken",
        }
        # ... and once its take is stale (its process died): taken over
        later = now + timedelta(seconds=5)
        assert await tx.mail.take(["e1"], stale_before=later) == {"e1": "taken"}
        await tx.mail.mark_sent(["e1"])
        await tx.mail.release(["e2", "e3"])
        await tx.commit()
    async with uow(write=True) as tx:
        assert await tx.mail.take(["e1", "e2"], stale_before=lease) == {
            "e1": "sent",  # a sent mail's record stays ...
            "e2": "taken",  # ... a released one is taken at once
        }
        assert await tx.mail.take([], stale_before=lease) == {}
        assert await tx.mail.forget(now + timedelta(minutes=1)) == 2  # e1 and e2
        await tx.commit()
