"""Mail written as .eml files into a folder (the default on one machine: var/mail)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cloudmall.adapters.mail.message import MessageWriter
from cloudmall.services.ports import Mail, MailUnavailable

log = logging.getLogger(__name__)


class FolderMailSender:
    """Each mail becomes `<folder>/<message id>.eml` (written whole, then renamed into place);
    one log line names its recipient and subject, never its text."""

    def __init__(self, folder: Path, *, sender: str) -> None:
        self._folder = folder
        self._writer = MessageWriter(sender)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[FolderMailSender]:
        """The folder needs no connection: each mail is its own file."""
        yield self

    async def send(self, mail: Mail) -> None:
        data = self._writer.write(mail)
        try:
            path = await asyncio.to_thread(self._write, mail.message_id, data)
        except OSError as exc:
            raise MailUnavailable(f"cannot write the mail into {self._folder}: {exc}") from exc
        log.info("mail to %s: %s (%s)", mail.to, mail.subject, path.name)

    def _write(self, name: str, data: bytes) -> Path:
        path = self._folder / f"{name}.eml"
        partial = self._folder / f".{name}.partial"
        try:
            self._write_whole(partial, data)
        except FileNotFoundError:  # no folder yet (or no more): made then, not before each mail
            self._folder.mkdir(parents=True, exist_ok=True)
            self._write_whole(partial, data)
        os.replace(partial, path)
        return path

    @staticmethod
    def _write_whole(path: Path, data: bytes) -> None:
        # Owner-only from its creation: a reset mail's link works as a password.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
