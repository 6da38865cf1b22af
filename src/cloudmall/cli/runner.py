"""What every `cloudmall` command shares: settings, the shop, and one-line errors with exit 1."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from cloudmall.bootstrap import build_shop, tier_failure
from cloudmall.config import Settings
from cloudmall.domain.errors import CloudmallError
from cloudmall.services.shop import Shop

T = TypeVar("T")

console = Console(soft_wrap=True)  # long lines (ids, URLs) are never cut
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (status 1)."""
    err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
    return typer.Exit(code=1)


def first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"bad settings: {problems}") from None


@contextmanager
def one_line_errors(*expected: type[Exception]) -> Iterator[None]:
    """`expected` failures end the command with one line on stderr and exit status 1."""
    try:
        yield
    except expected as exc:
        raise fail(str(exc)) from None


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run one async command; every expected failure becomes one line on stderr and exit 1."""
    try:
        return asyncio.run(work)
    except CloudmallError as exc:
        raise fail(exc.message) from None
    except KeyboardInterrupt:
        raise fail("interrupted") from None
    except Exception as exc:
        failure = tier_failure(exc)
        if failure is None:
            raise
        raise fail(first_line(failure)) from None


@asynccontextmanager
async def open_shop(settings: Settings) -> AsyncIterator[Shop]:
    """The shop for one command, closed (connections let go) when the command ends."""
    shop = build_shop(settings)
    try:
        yield shop
    finally:
        await shop.aclose()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: how a `--follow` loop is told to finish its batch."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop.set)
    return stop
