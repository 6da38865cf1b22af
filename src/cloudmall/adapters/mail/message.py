"""A Mail as RFC 5322 bytes: UTF-8 plain text, one recipient, written without building an
`email.message.EmailMessage` (its default policy parses every header it is given back into a
structured object, which cost most of a mail's CPU time under order load, issue #24).

What a recipient reads is what the stdlib's default policy writes: the same header fields,
non-ASCII ones as RFC 2047 encoded words, a body in 7bit or 8bit (base64 when a line is too
long). The headers that need parsing (the sender, an unusual address or subject) are still
written by the stdlib: the sender once per writer, the others when they come.
"""

from __future__ import annotations

import binascii
import re
import time
from datetime import UTC, datetime
from email import policy
from email.utils import format_datetime, make_msgid

from cloudmall.services.ports import Mail

#: The domain half of each Message-ID.
MESSAGE_ID_DOMAIN = "cloudmall"
#: RFC 5322's recommended line length, which the stdlib keeps to.
MAX_LINE = 78
# What needs no encoding in a header: printable ASCII, single spaces, no encoded-word opener.
_PLAIN_HEADER = re.compile(r"[!-~]+(?: [!-~]+)*")
# A Message-ID's left half as it is (dot-atom-text); an event's id (a UUID) always is.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_WORD_START = "=?utf-8?b?"
# Bytes per encoded word: "Subject: " and the word's 12 characters of frame within 78.
_FIRST_WORD_BYTES, _NEXT_WORD_BYTES = 42, 45


def stdlib_header(name: str, value: str, linesep: str) -> str:
    """`name: value` folded (and encoded) as the default policy writes it, with `linesep`;
    a value with a line break in it is refused as `EmailMessage` refuses it (ValueError)."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"the {name} header may not hold a line break")
    folding = policy.default.clone(linesep=linesep)
    folded: str = folding.header_factory(name, value).fold(policy=folding)
    return folded


class MessageWriter:
    """Writes each Mail from `sender` as a message's bytes with `linesep` between lines ("\\n"
    for a file, "\\r\\n" on the SMTP wire). The sender's header is written once."""

    def __init__(self, sender: str, *, linesep: str = "\n") -> None:
        self._linesep = linesep
        self._from = stdlib_header("From", sender, linesep)
        self._tail = linesep.join(
            ("MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"', "")
        )
        self._second = -1
        self._date = ""

    def write(self, mail: Mail) -> bytes:
        linesep = self._linesep
        encoding, body = self._body(mail.text)
        head = (
            f"{self._from}"
            f"{self._header('To', mail.to)}"
            f"{self._subject(mail.subject)}"
            f"Date: {self._now()}{linesep}"
            f"Message-ID: {message_id(mail.message_id)}{linesep}"
            f"{self._tail}"
            f"Content-Transfer-Encoding: {encoding}{linesep}{linesep}"
        )
        return head.encode("ascii") + body

    def _header(self, name: str, value: str) -> str:
        if len(value) + len(name) + 2 <= MAX_LINE and _PLAIN_HEADER.fullmatch(value):
            return f"{name}: {value}{self._linesep}"
        return stdlib_header(name, value, self._linesep)

    def _subject(self, subject: str) -> str:
        """Plain when it can be; Korean (any non-ASCII text in single spaces, the usual case)
        as base64 encoded words cut between characters; anything else by the stdlib."""
        if subject.isascii() or not _PLAIN_HEADER.fullmatch(
            subject.encode("ascii", "replace").decode()
        ):
            return self._header("Subject", subject)
        data = subject.encode("utf-8")
        words = []
        start, size = 0, _FIRST_WORD_BYTES
        while start < len(data):
            end = min(start + size, len(data))
            while end < len(data) and 0x80 <= data[end] < 0xC0:  # not inside a character
                end -= 1
            chunk = binascii.b2a_base64(data[start:end], newline=False).decode("ascii")
            words.append(f"{_WORD_START}{chunk}?=")
            start, size = end, _NEXT_WORD_BYTES
        return f"Subject: {f'{self._linesep} '.join(words)}{self._linesep}"

    def _now(self) -> str:
        """The Date, written once a second (a batch's mails share it)."""
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._date = format_datetime(datetime.fromtimestamp(second, UTC))
        return self._date

    def _body(self, text: str) -> tuple[str, bytes]:
        """(Content-Transfer-Encoding, body) as the default policy picks: the text's lines as
        they are if none is longer than 78 bytes, else base64."""
        linesep = self._linesep.encode("ascii")
        lines = text.encode("utf-8").splitlines()
        if max(map(len, lines), default=0) <= MAX_LINE:
            body = linesep.join(lines) + linesep
            return ("7bit" if body.isascii() else "8bit"), body
        data = b"\n".join(lines) + b"\n"
        encoded = [
            binascii.b2a_base64(data[at : at + 57], newline=False) for at in range(0, len(data), 57)
        ]
        return "base64", linesep.join(encoded) + linesep


def message_id(mail_id: str) -> str:
    """The mail's Message-ID: its own id at cloudmall, so that the same mail sent again carries
    the same one (an id that cannot stand in one, never an event's, gets the stdlib's kind)."""
    if _DOT_ATOM.fullmatch(mail_id):
        return f"<{mail_id}@{MESSAGE_ID_DOMAIN}>"
    return make_msgid(domain=MESSAGE_ID_DOMAIN)
