"""`cloudmall mail send [--follow]`: the outbox's mail, sent by a command (a server process sends
it by itself; a function runtime has no process that stays, so this runs on a schedule)."""

from __future__ import annotations

from typing import Annotated

import typer

from cloudmall.cli.runner import console, load_settings, open_shop, run, stop_on_signals
from cloudmall.services import commands as c
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.mail import MailReader, MailRunResult

mail_app = typer.Typer(help="Mail: send what the outbox's events call for.", no_args_is_help=True)


def _said(result: MailRunResult) -> str:
    return f"sent {result.sent} mails ({result.batches} batches of events)"


async def _follow(interval: float, max_delay: float) -> None:
    async with open_shop(load_settings()) as shop:
        reader = shop.tiers["mailer"]
        assert isinstance(reader, MailReader)
        stop = stop_on_signals()
        await reader.follow(
            backoff=Backoff(interval=interval, max_delay=max_delay),
            stop=stop,
            report=lambda r: console.print(_said(r)),
        )


async def _send_once() -> MailRunResult:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.SendMail())


@mail_app.command("send")
def send(
    follow: Annotated[
        bool, typer.Option("--follow", help="keep sending new mail until stopped")
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, help="seconds between rounds with --follow"),
    ] = 2.0,
) -> None:
    """Send the mail of every event waiting in the outbox; safe to rerun and to run beside a
    server (each mail goes out once)."""
    if follow:
        run(_follow(interval, load_settings().mail_retry_max_seconds))
        return
    console.print(_said(run(_send_once())))
