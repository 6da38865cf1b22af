"""Rate limits on log-in and sign-up, shared by every process through a Counter (Redis).

Fixed windows: each (limit, subject, window) has a counter that expires with its window. A log-in
attempt counts against the account and against the client address *before* the password is
checked (so a burst of concurrent guesses cannot all slip under the limit), and is taken back
when the password was right: only failures and attempts in flight use up the allowance.

If the counter store is down the limits fail open (a cache outage must not lock everyone out)
and say so in the log; the password check itself is unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

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
            return None
        if count > limit.max_hits:
            raise RateLimited("Too many attempts; try again later", retry_after=ttl)
        return Hit(key=key, ttl_seconds=ttl)

    async def undo(self, hit: Hit | None) -> None:
        if hit is None:
            return
        try:
            await self._counter.increment(hit.key, ttl_seconds=hit.ttl_seconds, amount=-1)
        except CacheUnavailable as exc:
            log.warning("rate limit counter not decremented: %s", exc)


@dataclass(frozen=True, slots=True)
class Throttles:
    """The shop's limits: failed log-ins per account and per client, sign-ups per client."""

    limiter: RateLimiter
    login_per_account: Limit
    login_per_client: Limit
    signup_per_client: Limit

    async def login_attempt(self, *, account: str, client: str) -> list[Hit | None]:
        """Count a log-in attempt against its client address and its account."""
        hits = [await self.limiter.hit(self.login_per_client, client)]
        try:
            hits.append(await self.limiter.hit(self.login_per_account, account))
        except RateLimited:
            await self.login_succeeded(hits)  # a refused attempt is not a guess at the password
            raise
        return hits

    async def login_succeeded(self, hits: list[Hit | None]) -> None:
        for hit in hits:
            await self.limiter.undo(hit)

    async def signup(self, *, client: str) -> None:
        await self.limiter.hit(self.signup_per_client, client)
