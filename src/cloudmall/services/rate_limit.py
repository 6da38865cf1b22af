"""Rate limits on log-in and sign-up, shared by every process through a Counter (Redis).

Fixed windows: each (limit, subject, window) has a counter that expires with its window. A log-in
attempt is counted *before* the password is checked (so a burst of concurrent guesses cannot all
slip under a limit), and is taken back when the password was right: only failures and attempts
in flight use up the allowance. Failed log-ins are bounded three ways:

- per (account, client address), a hard limit: one address guessing one account gets 429;
- per client address, a hard limit: one address spraying many accounts gets 429;
- per account across all addresses, a slow-down, not a lock: past a number of failures every
  attempt waits a delay that doubles with each further failure (up to a cap) before the password
  is checked. Guesses from many addresses get slower and slower, while the account's owner, from
  an address that has not failed, still logs in with the right password (after the delay).
  Concurrent attempts are counted before they wait, so each waits longer than the one before.

If the counter store is down the limits fail open (a cache outage must not lock everyone out)
and say so in the log; the password check itself is unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cloudmall.domain.errors import RateLimited
from cloudmall.services.ports import CacheUnavailable, Counter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max_hits` per `window_seconds` for one subject; `name` keeps counters apart."""

    name: str
    max_hits: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Hit:
    """One counted attempt, so it can be taken back."""

    key: str
    ttl_seconds: int


class RateLimiter:
    def __init__(self, counter: Counter, *, clock: Callable[[], float] = time.time) -> None:
        self._counter = counter
        self._clock = clock

    async def hit(self, limit: Limit, subject: str) -> Hit | None:
        """Count one attempt; raises RateLimited (with Retry-After) past the limit.

        None when the counter store is down (fail open).
        """
        hit, count = await self.count(limit, subject)
        if hit is not None and count > limit.max_hits:
            raise RateLimited("Too many attempts; try again later", retry_after=hit.ttl_seconds)
        return hit

    async def count(self, limit: Limit, subject: str) -> tuple[Hit | None, int]:
        """Count one attempt and say how many there were in this window (this one included);
        (None, 0) when the counter store is down (fail open)."""
        now = self._clock()
        window = int(now // limit.window_seconds)
        window_end = (window + 1) * limit.window_seconds
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]  # no emails or IPs in keys
        key = f"ratelimit:{limit.name}:{digest}:{window}"
        ttl = max(1, math.ceil(window_end - now))
        try:
            count = await self._counter.increment(key, ttl_seconds=ttl)
        except CacheUnavailable as exc:
            log.warning(
                "rate limit %s not enforced: counter store unavailable (%s)", limit.name, exc
            )
            return None, 0
        return Hit(key=key, ttl_seconds=ttl), count

    async def undo(self, hit: Hit | None) -> None:
        if hit is None:
            return
        try:
            await self._counter.increment(hit.key, ttl_seconds=hit.ttl_seconds, amount=-1)
        except CacheUnavailable as exc:
            log.warning("rate limit counter not decremented: %s", exc)


@dataclass(frozen=True, slots=True)
class SlowDown:
    """Past `free` failures in a window, attempt n waits `first_seconds` · 2^(n − free − 1),
    at most `max_seconds`."""

    free: int
    first_seconds: float = 0.25
    max_seconds: float = 10.0

    def delay(self, failures: int) -> float:
        over = failures - self.free
        if over <= 0:
            return 0.0
        doubling: float = 2.0 ** min(over - 1, 32)
        return min(self.max_seconds, self.first_seconds * doubling)


@dataclass(frozen=True, slots=True)
class Throttles:
    """The shop's limits: failed log-ins per (account, client), per client, and per account (a
    slow-down); sign-ups per client; password-reset mails per client and per account."""

    limiter: RateLimiter
    login_per_account_and_client: Limit
    login_per_client: Limit
    login_per_account: Limit  # counts failures for `slow_down`; never refuses
    slow_down: SlowDown
    signup_per_client: Limit
    reset_per_client: Limit = Limit("reset-client", 10, 3600)
    reset_per_account: Limit = Limit("reset-account", 3, 3600)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    async def login_attempt(self, *, account: str, client: str) -> list[Hit | None]:
        """Count a log-in attempt (429 past a hard limit), then wait the account's slow-down."""
        hits = [await self.limiter.hit(self.login_per_client, client)]
        try:
            hits.append(
                await self.limiter.hit(self.login_per_account_and_client, f"{account}\n{client}")
            )
        except RateLimited:
            await self.login_succeeded(hits)  # a refused attempt is not a guess at the password
            raise
        hit, failures = await self.limiter.count(self.login_per_account, account)
        hits.append(hit)
        delay = self.slow_down.delay(failures)
        if delay > 0:
            await self.sleep(delay)
        return hits

    async def login_succeeded(self, hits: list[Hit | None]) -> None:
        for hit in hits:
            await self.limiter.undo(hit)

    async def signup(self, *, client: str) -> None:
        await self.limiter.hit(self.signup_per_client, client)

    async def password_reset(self, *, account: str, client: str) -> bool:
        """Count a reset request: 429 past the client's limit; False (send nothing, say nothing)
        past the account's, so nobody can flood an inbox or learn whether the account exists."""
        await self.limiter.hit(self.reset_per_client, client)
        _, count = await self.limiter.count(self.reset_per_account, account)
        return count <= self.reset_per_account.max_hits
