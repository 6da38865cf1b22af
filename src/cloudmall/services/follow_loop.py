"""The loop of a long-running reader or periodic job (`--follow`, a server's background work):
run, wait, run again until told to stop, waiting longer after each failure while a tier is
away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Waits until the event is set or the seconds have passed, whichever comes first.
Wait = Callable[[asyncio.Event, float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a follow loop waits before its next run: `interval` after a run that worked;
    after a failure, `factor` times the wait before it (the first failure grows from `start`,
    the interval unless given), never more than `max_delay`."""

    interval: float
    max_delay: float
    factor: float = 2.0
    start: float | None = None

    @property
    def first(self) -> float:
        """The wait the first failure after a good run grows from."""
        return self.interval if self.start is None else self.start

    def after_failure(self, delay: float) -> float:
        return min(self.max_delay, delay * self.factor)


def utc_now() -> datetime:
    """The clock periodic jobs read unless a test gives them another."""
    return datetime.now(UTC)


def log_handled(name: str) -> Callable[[int], None]:
    """A follow loop's report: how many a run handled, when it handled any."""

    def report(done: int) -> None:
        if done:
            log.info("%s: %d handled", name, done)

    return report


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def keep_following(
    run: Callable[[], Awaitable[R]],
    *,
    name: str,
    backoff: Backoff,
    stop: asyncio.Event,
    report: Callable[[R], None] = lambda result: None,
    expected: tuple[type[Exception], ...] = (),
    wait: Wait = wait_or_stop,
) -> None:
    """Run `run` until `stop` is set, reporting each result; a failure is logged (an `expected`
    one as a warning, without its traceback) and never ends the loop: a database or a broker
    may be away for a while."""
    failed = backoff.first  # the wait the next failure grows from
    while not stop.is_set():
        try:
            result = await run()
        except expected as exc:
            delay = failed = backoff.after_failure(failed)
            log.warning("%s: %s; next attempt in %.0f s", name, exc, delay)
        except Exception:
            delay = failed = backoff.after_failure(failed)
            log.exception("%s: the run failed; next attempt in %.0f s", name, delay)
        else:
            failed, delay = backoff.first, backoff.interval
            report(result)
        await wait(stop, delay)


async def follow_counting(
    run: Callable[[], Awaitable[int]],
    *,
    name: str,
    backoff: Backoff,
    stop: asyncio.Event,
    expected: tuple[type[Exception], ...] = (),
) -> None:
    """`keep_following` a job whose run answers how many it handled, logging that when any:
    the shape of every periodic job (a sweeper, a reconciler) and outbox reader."""
    await keep_following(
        run, name=name, backoff=backoff, stop=stop, report=log_handled(name), expected=expected
    )
