"""Mail written as .eml files into a folder (the default on one machine: var/mail)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from cloudmall.adapters.mail.message import message_of
from cloudmall.services.ports import Mail, MailUnavailable

log = logging.getLogger(__name__)


class FolderMailSender:
    """Each mail becomes `<folder>/<message id>.eml` (written whole, then renamed into place);
    one log line names its recipient and subject, never its text."""

    def __init__(self, folder: Path, *, sender: str) -> None:
        self._folder = folder
        self._sender = sender

    async def send(self, mail: Mail) -> None:
        data = message_of(mail, sender=self._sender).as_bytes()
        try:
            path = await asyncio.to_thread(self._write, mail.message_id, data)
        except OSError as exc:
            raise MailUnavailable(f"cannot write the mail into {self._folder}: {exc}") from exc
        log.info("mail to %s: %s (%s)", mail.to, mail.subject, path.name)

    def _write(self, name: str, data: bytes) -> Path:
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{name}.eml"
        partial = self._folder / f".{name}.partial"
        partial.touch(mode=0o600)  # a reset mail's link works as a password: owner-only
        partial.write_bytes(data)
        os.replace(partial, path)
        return path
