"""A Mail as RFC 5322 bytes, written by the stdlib's email package in its compat32 mode:
UTF-8 plain text, one recipient.

compat32 writes the headers it is given as they are, where the default policy (EmailMessage)
parses each back into a structured header first; that parsing was most of a mail's CPU time
under order load (issue #24; `python -m bench.mail_compose`). Non-ASCII display names and
subjects are written as RFC 2047 encoded words (`formataddr`, `Header`), the body in base64.
"""

from __future__ import annotations

import re
from email import policy
from email.charset import Charset
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import cast

from cloudmall.services.ports import Mail

#: The domain half of each Message-ID.
MESSAGE_ID_DOMAIN = "cloudmall"
_UTF8 = Charset("utf-8")
# A Message-ID's left half as it is (dot-atom-text); an event's id (a UUID) always is.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class MessageWriter:
    """Writes each Mail from `sender` as a message's bytes with `linesep` between lines ("\\n"
    for a file, "\\r\\n" on the SMTP wire)."""

    def __init__(self, sender: str, *, linesep: str = "\n") -> None:
        self._from = _sender(sender)
        self._policy = compat32.clone(linesep=linesep)

    def write(self, mail: Mail) -> bytes:
        for value in (mail.to, mail.subject):
            if "\n" in value or "\r" in value:  # as EmailMessage refuses it
                raise ValueError("a mail's header may not hold a line break")
        message = MIMEText(mail.text, "plain", "utf-8")
        message["From"] = self._from
        message["To"] = _address(mail.to)
        message["Subject"] = _subject(mail.subject)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id(mail.message_id)
        return message.as_bytes(policy=self._policy)


def _subject(text: str) -> str:
    """ASCII as it is; else encoded words (compat32 takes a Header where typeshed says str)."""
    return text if text.isascii() else cast(str, Header(text, _UTF8))


def _sender(text: str) -> str:
    """The From header's value, its address read by the stdlib's header parser once per writer."""
    parsed = policy.default.header_factory("From", text)
    if len(parsed.addresses) != 1:
        raise ValueError(f"the mail sender must be one address, not {text!r}")
    address = parsed.addresses[0]
    return formataddr((address.display_name, address.addr_spec), charset=_UTF8)


def _address(text: str) -> str:
    """An address header's value: a non-ASCII display name encoded (RFC 2047)."""
    name, address = parseaddr(text)
    if not address:
        return text
    return formataddr((name, address), charset=_UTF8)


def message_id(mail_id: str) -> str:
    """The mail's Message-ID: its own id at cloudmall, so that the same mail sent again carries
    the same one (an id that cannot stand in one, never an event's, gets the stdlib's kind)."""
    if _DOT_ATOM.fullmatch(mail_id):
        return f"<{mail_id}@{MESSAGE_ID_DOMAIN}>"
    return make_msgid(domain=MESSAGE_ID_DOMAIN)
