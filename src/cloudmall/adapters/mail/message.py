"""A Mail as an RFC 5322 message (the stdlib's email package): UTF-8 text, one recipient."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from cloudmall.services.ports import Mail


def message_of(mail: Mail, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    # The event's id: the same mail sent again carries the same Message-ID.
    message["Message-ID"] = make_msgid(idstring=mail.message_id, domain="cloudmall")
    message.set_content(mail.text, charset="utf-8")
    return message
