"""The follow loop the outbox's readers share: its waits, told by a fake wait (no real sleeping)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC

import pytest

from cloudmall.services.follow_loop import Backoff, follow_counting, keep_following, utc_now

pytestmark = pytest.mark.anyio


class Script:
    """A run that fails or works as scripted ("fail", "expected" or a result), and a wait that
    records each pause and sets `stop` once the script is played."""

    def __init__(self, *steps: object) -> None:
        self.steps = list(steps)
        self.runs = 0
        self.waits: list[float] = []
        self.stop = asyncio.Event()

    async def run(self) -> object:
        step = self.steps[self.runs]
        self.runs += 1
        if step == "fail":
            raise RuntimeError("the database is away")
        if step == "expected":
            raise LookupError("the mail server is away")
        return step

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        self.waits.append(seconds)
        if self.runs == len(self.steps):
            stop.set()


async def follow(script: Script, backoff: Backoff, reported: list[object] | None = None) -> None:
    await asyncio.wait_for(
        keep_following(
            script.run,
            name="test",
            backoff=backoff,
            stop=script.stop,
            report=(reported if reported is not None else []).append,
            expected=(LookupError,),
            wait=script.wait,
        ),
        1,
    )


async def test_the_loop_waits_the_interval_after_each_run_that_worked() -> None:
    script = Script(1, 2, 3)
    reported: list[object] = []
    await follow(script, Backoff(interval=5, max_delay=60), reported)
    assert script.waits == [5, 5, 5]
    assert reported == [1, 2, 3]


async def test_failures_double_the_wait_up_to_the_max_and_a_run_that_works_resets_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = Script("fail", "fail", "expected", "fail", "fail", "ok", "fail", "ok")
    with caplog.at_level(logging.WARNING):
        await follow(script, Backoff(interval=5, max_delay=60))
    assert script.waits == [10, 20, 40, 60, 60, 5, 10, 5]
    assert "test: the run failed; next attempt in 10 s" in caplog.text
    # an expected failure is one line, without its traceback
    expected = [r for r in caplog.records if "mail server" in r.getMessage()]
    assert [r.exc_info for r in expected] == [None]


async def test_the_backoff_rule_is_data_its_factor_and_start_included() -> None:
    script = Script("fail", "fail", "fail", "ok", "fail")
    await follow(script, Backoff(interval=0, max_delay=20, factor=3, start=1))
    assert script.waits == [3, 9, 20, 0, 3]


async def test_the_loop_ends_when_stop_is_set_and_does_not_run_once_it_is() -> None:
    script = Script(1, 2, 3, 4)
    script.stop.set()
    await follow(script, Backoff(interval=5, max_delay=60))
    assert script.runs == 0


async def test_a_stop_during_the_wait_ends_the_real_wait_at_once() -> None:
    stop = asyncio.Event()
    runs = 0

    async def run() -> None:
        nonlocal runs
        runs += 1
        asyncio.get_running_loop().call_soon(stop.set)

    # the real wait: an hour's interval, cut short by `stop`
    await asyncio.wait_for(
        keep_following(run, name="test", backoff=Backoff(interval=3600, max_delay=3600), stop=stop),
        1,
    )
    assert runs == 1


async def test_a_periodic_job_logs_how_many_it_handled_only_when_any(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    counts = [0, 3]

    async def run() -> int:
        if len(counts) == 1:
            stop.set()
        return counts.pop(0)

    backoff = Backoff(interval=0.0, max_delay=0.0)
    with caplog.at_level(logging.INFO, logger="cloudmall.services.follow_loop"):
        await follow_counting(run, name="sweeper", backoff=backoff, stop=stop)
    assert [r.getMessage() for r in caplog.records] == ["sweeper: 3 handled"]


def test_the_periodic_jobs_clock_is_aware_utc() -> None:
    assert utc_now().tzinfo is UTC
