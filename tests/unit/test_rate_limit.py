"""The rate limiter on a counter: fixed windows, taking back successes, failing open."""

from __future__ import annotations

import logging

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.domain.errors import RateLimited
from cloudmall.services.ports import CacheUnavailable
from cloudmall.services.rate_limit import Limit, RateLimiter, SlowDown, Throttles

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records the delays instead of waiting them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def throttles(counter: object, clock: Clock, sleeps: Sleeps | None = None) -> Throttles:
    return Throttles(
        limiter=RateLimiter(counter, clock=clock),  # type: ignore[arg-type]
        login_per_account_and_client=Limit("acct-ip", 3, 60),
        login_per_client=Limit("ip", 5, 60),
        login_per_account=Limit("acct", 4, 60),
        slow_down=SlowDown(free=4, first_seconds=0.25, max_seconds=2),
        signup_per_client=Limit("signup", 2, 3600),
        sleep=sleeps or Sleeps(),
    )


async def test_one_address_guessing_one_account_is_refused_until_the_window_passes() -> None:
    clock = Clock()
    limits = throttles(MemoryCache(), clock)
    for _ in range(3):
        await limits.login_attempt(account="a@b.co", client="1.1.1.1")
    with pytest.raises(RateLimited) as refused:
        await limits.login_attempt(account="a@b.co", client="1.1.1.1")
    assert 0 < refused.value.retry_after <= 60
    # The owner, from an address that has not failed, and other accounts are not locked.
    await limits.login_attempt(account="a@b.co", client="2.2.2.2")
    await limits.login_attempt(account="other@b.co", client="1.1.1.1")
    clock.now += 60
    await limits.login_attempt(account="a@b.co", client="1.1.1.1")


async def test_many_addresses_guessing_one_account_are_slowed_down_never_locked() -> None:
    sleeps = Sleeps()
    limits = throttles(MemoryCache(), Clock(), sleeps)
    for index in range(10):  # ten addresses, one guess each: no hard limit applies
        await limits.login_attempt(account="a@b.co", client=f"10.0.0.{index}")
    assert sleeps.delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]  # after 4 free: doubling, capped
    hits = await limits.login_attempt(account="a@b.co", client="192.0.2.1")  # the owner
    assert sleeps.delays[-1] == 2.0  # waits too, but is let through to the password check
    await limits.login_succeeded(hits)
    await limits.login_attempt(account="other@b.co", client="10.0.0.1")  # others: no delay
    assert len(sleeps.delays) == 7


def test_the_slow_down_doubles_up_to_its_cap() -> None:
    slow = SlowDown(free=10, first_seconds=0.25, max_seconds=10)
    assert [slow.delay(n) for n in (0, 10, 11, 12, 13, 16, 17, 10**6)] == [
        0,
        0,
        0.25,
        0.5,
        1,
        8,
        10,
        10,
    ]


async def test_successes_do_not_count_and_clients_are_limited() -> None:
    limits = throttles(MemoryCache(), Clock())
    for _ in range(10):
        hits = await limits.login_attempt(account="a@b.co", client="1.1.1.1")
        await limits.login_succeeded(hits)
    for index in range(5):
        await limits.login_attempt(account=f"u{index}@b.co", client="9.9.9.9")
    with pytest.raises(RateLimited):
        await limits.login_attempt(account="new@b.co", client="9.9.9.9")


async def test_signups_per_client() -> None:
    limits = throttles(MemoryCache(), Clock())
    await limits.signup(client="1.1.1.1")
    await limits.signup(client="1.1.1.1")
    with pytest.raises(RateLimited):
        await limits.signup(client="1.1.1.1")


class DownCounter:
    async def increment(self, key: str, *, ttl_seconds: int, amount: int = 1) -> int:
        raise CacheUnavailable("down")


async def test_fails_open_and_logs_when_the_counter_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = throttles(DownCounter(), Clock())
    with caplog.at_level(logging.WARNING):
        for _ in range(10):
            hits = await limits.login_attempt(account="a@b.co", client="1.1.1.1")
            await limits.login_succeeded(hits)
    assert "not enforced" in caplog.text
