"""The rate limiter on a counter: fixed windows, taking back successes, failing open."""

from __future__ import annotations

import logging

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.domain.errors import RateLimited
from cloudmall.services.ports import CacheUnavailable
from cloudmall.services.rate_limit import Limit, RateLimiter, Throttles

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttles(counter: object, clock: Clock) -> Throttles:
    return Throttles(
        limiter=RateLimiter(counter, clock=clock),  # type: ignore[arg-type]
        login_per_account=Limit("acct", 3, 60),
        login_per_client=Limit("ip", 5, 60),
        signup_per_client=Limit("signup", 2, 3600),
    )


async def test_failures_are_limited_per_account_then_the_window_passes() -> None:
    clock = Clock()
    limits = throttles(MemoryCache(), clock)
    for _ in range(3):
        await limits.login_attempt(account="a@b.co", client="1.1.1.1")
    with pytest.raises(RateLimited) as refused:
        await limits.login_attempt(account="a@b.co", client="2.2.2.2")
    assert 0 < refused.value.retry_after <= 60
    await limits.login_attempt(account="other@b.co", client="2.2.2.2")  # others are not locked
    clock.now += 60
    await limits.login_attempt(account="a@b.co", client="1.1.1.1")


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
