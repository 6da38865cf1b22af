"""Scheduled functions: the work a server process does in its background loops, done by a
function an EventBridge rule invokes every minute (a function runtime keeps no loop running
between requests).

- `cloudmall.serverless.scheduled.send_mail` does what `cloudmall mail send` does: every waiting
  mail once, then it returns what it sent. The SMTP URL is read from Secrets Manager at init
  (CLOUDMALL_SMTP_URL_SECRET_ARN). A mail server that fails raises: the invocation counts as an
  error (the stack's alarm), and the events wait in the outbox for the next minute.
- `cloudmall.serverless.scheduled.expire_reservations` does what `cloudmall stock expire` does
  (the servers' stock sweeper, services/stock_readers.py): every stock reservation past its
  time is released, its units back in stock, once.
- `cloudmall.serverless.scheduled.reconcile_payments` does what `cloudmall payments reconcile`
  does (the servers' payment reconciler, services/payment_reconciler.py): every payment left
  `pending` or `charged` past its grace (a payer's function killed or timed out on the way) is
  settled once from the gateway's record.

Each function's shop (no web app: no routes, no FastAPI) is built once per container, and every
invocation runs on its event loop, reusing the pooled connections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cloudmall.bootstrap import build_shop
from cloudmall.config import Runtime, Settings
from cloudmall.services.commands import ExpireReservations, ReconcilePayments, SendMail

log = logging.getLogger(__name__)


class ScheduledFunction:
    """A scheduled function's shop and event loop, made once per container."""

    def __init__(self, settings: Settings) -> None:
        if settings.runtime is not Runtime.FUNCTION:
            raise ValueError("the scheduled functions run under CLOUDMALL_RUNTIME=function")
        self.loop = asyncio.new_event_loop()
        self.shop = build_shop(settings)


class MailFunction(ScheduledFunction):
    """Each call sends what waits in the outbox."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        result = self.loop.run_until_complete(self.shop.handle(SendMail()))
        log.info("sent %d mails in %d batches", result.sent, result.batches)
        return {"sent": result.sent, "batches": result.batches}


class SweepFunction(ScheduledFunction):
    """Each call releases the stock reservations whose time is up."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        released = self.loop.run_until_complete(self.shop.handle(ExpireReservations()))
        log.info("released %d expired reservations", released)
        return {"released": released}


class ReconcileFunction(ScheduledFunction):
    """Each call settles the payments left on their way past their grace."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        settled = self.loop.run_until_complete(self.shop.handle(ReconcilePayments()))
        log.info("settled %d payments", settled)
        return {"settled": settled}


#: The handlers the stack names, by their attribute here.
HANDLERS: dict[str, type[ScheduledFunction]] = {
    "send_mail": MailFunction,
    "expire_reservations": SweepFunction,
    "reconcile_payments": ReconcileFunction,
}


def __getattr__(name: str) -> Any:
    """A handler, built on first access (the runtime's init), like the HTTP handler."""
    if name in HANDLERS:
        from cloudmall.serverless.settings import function_settings

        handler = HANDLERS[name](function_settings())
        globals()[name] = handler  # built once per container
        return handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
