"""A real SMTP server for the tests (aiosmtpd, in a thread of the test process): it keeps what it
receives, can refuse mail for a while (451, as a server under load does) and can demand a log-in."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import free_port


@dataclass
class Received:
    """The mails the server accepted (and the client address each came from: one per SMTP
    session), how often it refused one, and the recipients it refuses for good."""

    messages: list[EmailMessage] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)
    refusals: int = 0
    refusing: bool = False
    unknown: set[str] = field(default_factory=set)  # "550 no such user"
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30) -> list[EmailMessage]:
        """The first `count` mails to `address`, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail to {address} within {timeout:g} s")
                self.arrived.wait(left)
            return self.to(address)[:count]


class _Handler:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.received.unknown:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.received.refusing:
            self.received.refusals += 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.received.arrived:
            self.received.messages.append(message)
            self.received.peers.append(session.peer)
            self.received.arrived.notify_all()
        return "250 OK"


@dataclass
class MailServer:
    port: int
    received: Received

    def url(self, credentials: str = "") -> str:
        return f"smtp://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"


@contextmanager
def mail_server(login: tuple[str, str] | None = None) -> Iterator[MailServer]:
    """An SMTP server on a free port; with `login`, only that user and password may send."""
    received = Received()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and login == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    port = free_port()
    extra: dict[str, Any] = {}
    if login is not None:
        extra = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticate}
    controller = Controller(_Handler(received), hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield MailServer(port, received)
    finally:
        controller.stop()
