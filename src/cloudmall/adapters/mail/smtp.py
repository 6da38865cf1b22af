"""Mail through an SMTP server (stdlib smtplib, in a thread): `CLOUDMALL_SMTP_URL`.

`smtp://user:password@host:587?starttls=true` (STARTTLS, the usual submission port),
`smtps://user:password@host:465` (TLS from the start) or `smtp://host:25` (no TLS, no log-in: a
local relay or a test server). Optional `timeout` (seconds, default 10). On AWS: Amazon SES's
SMTP endpoint, `smtp://<SMTP user>:<SMTP password>@email-smtp.<region>.amazonaws.com:587?
starttls=true` (docs/deploy-aws.md).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import getaddresses
from urllib.parse import parse_qs, unquote, urlsplit

from cloudmall.adapters.mail.message import MessageWriter
from cloudmall.services.ports import Mail, MailRejected, MailUnavailable

log = logging.getLogger(__name__)

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # TLS from the first byte (smtps)
    starttls: bool
    username: str | None
    password: str | None
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "CLOUDMALL_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…"
            )
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            starttls=query.get("starttls", ["false"])[0].lower() in TRUE,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", ["10"])[0]),
        )


class SmtpMailSender:
    """One SMTP session per batch of mails (`connection`), or per mail (`send`): a log-in per
    mail would cost a batch of orders a TLS handshake each."""

    def __init__(self, server: SmtpServer, *, sender: str) -> None:
        self._server = server
        self._writer = MessageWriter(sender, linesep="\r\n")  # CRLF: the wire's line ends
        self._envelope_from = envelope_address(sender)

    async def send(self, mail: Mail) -> None:
        async with self.connection() as connection:
            await connection.send(mail)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[SmtpSession]:
        session = SmtpSession(self._server, self._writer, self._envelope_from)
        try:
            yield session
        finally:
            await asyncio.to_thread(session.close)


class SmtpSession:
    """One SMTP session, opened (connect, STARTTLS, log-in) at the first mail; each mail runs
    in a thread, one at a time."""

    def __init__(self, server: SmtpServer, writer: MessageWriter, envelope_from: str) -> None:
        self._server = server
        self._writer = writer
        self._envelope_from = envelope_from
        self._client: smtplib.SMTP | None = None

    async def send(self, mail: Mail) -> None:
        try:
            await asyncio.to_thread(self._send, mail)
        except smtplib.SMTPRecipientsRefused as exc:  # smtplib reset the session: it goes on
            if all(500 <= code < 600 for code, _ in exc.recipients.values()):
                raise MailRejected(f"the mail server refused the recipient {mail.to}") from exc
            raise MailUnavailable(f"the mail server deferred the recipient {mail.to}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            await asyncio.to_thread(self.close)  # spent: a later send starts a new session
            raise MailUnavailable(f"cannot send through {self._server.host}: {exc}") from exc
        log.info("mail to %s: %s (via %s)", mail.to, mail.subject, self._server.host)

    def _send(self, mail: Mail) -> None:
        client = self._client or self._open()
        # SMTPUTF8 as smtplib's send_message asks for it: when an address is not ASCII.
        international = not (self._envelope_from.isascii() and mail.to.isascii())
        client.sendmail(
            self._envelope_from,
            [mail.to],
            self._writer.write(mail),
            mail_options=["SMTPUTF8", "BODY=8BITMIME"] if international else [],
        )

    def _open(self) -> smtplib.SMTP:
        server = self._server
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if server.tls:
            client = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        try:
            if server.starttls:
                client.starttls(context=context)
            if server.username:
                client.login(server.username, server.password or "")
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def close(self) -> None:
        """QUIT and close; a server already gone changes nothing (its mails were accepted)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def envelope_address(sender: str) -> str:
    """The sender's bare address (`Shop <no-reply@shop.example>` → `no-reply@shop.example`), as
    smtplib's send_message takes it from the From header."""
    return getaddresses([sender])[0][1]
