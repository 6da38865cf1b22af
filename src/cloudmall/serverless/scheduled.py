"""Scheduled functions: the outbox's mail, sent by a function an EventBridge rule invokes every
minute (a function runtime keeps no mail loop running between requests).

`cloudmall.serverless.scheduled.send_mail` does what `cloudmall mail send` does: every waiting
mail once, then it returns what it sent. The shop (no web app: no routes, no FastAPI) is built
once per container, with the SMTP URL read from Secrets Manager at init
(CLOUDMALL_SMTP_URL_SECRET_ARN), and every invocation runs on its event loop, reusing the
pooled connection. A mail server that fails raises: the invocation counts as an error (the
stack's alarm), and the events wait in the outbox for the next minute.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cloudmall.bootstrap import build_shop
from cloudmall.config import Runtime, Settings
from cloudmall.services.commands import SendMail

log = logging.getLogger(__name__)


class MailFunction:
    """The mail function's shop and event loop, made once; each call sends what waits."""

    def __init__(self, settings: Settings) -> None:
        if settings.runtime is not Runtime.FUNCTION:
            raise ValueError("the scheduled functions run under CLOUDMALL_RUNTIME=function")
        self.loop = asyncio.new_event_loop()
        self.shop = build_shop(settings)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        result = self.loop.run_until_complete(self.shop.handle(SendMail()))
        log.info("sent %d mails in %d batches", result.sent, result.batches)
        return {"sent": result.sent, "batches": result.batches}


def __getattr__(name: str) -> Any:
    """`send_mail`, built on first access (the runtime's init), like the HTTP handler."""
    if name == "send_mail":
        from cloudmall.serverless.settings import function_settings

        handler = MailFunction(function_settings())
        globals()["send_mail"] = handler  # built once per container
        return handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
