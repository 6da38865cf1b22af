"""A circuit breaker per called service: after `threshold` failures in a row the calls fail at
once for `cool_down` seconds (open), then one trial call is let through (half-open): its success
closes the circuit, its failure opens it again.

A small class rather than a library: the ones for asyncio (aiobreaker, purgatory) bring storage
backends and listeners this needs none of, and the whole rule is the three states below.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls go through; failures are counted
    OPEN = "open"  # calls fail at once until the cool-down ends
    HALF_OPEN = "half_open"  # one trial call is under way; the others fail at once


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 5,
        cool_down: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or cool_down <= 0:
            raise ValueError("the threshold is at least 1 and the cool-down positive")
        self._threshold = threshold
        self._cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._trial or self._clock() - self._opened_at >= self._cool_down:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def retry_after(self) -> float:
        """Seconds until a call may be tried again (0 when one may be now)."""
        if self._opened_at is None or self._trial:
            return 0.0
        return max(0.0, self._cool_down - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go now; in half-open, True for the one trial call only."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def abandoned(self) -> None:
        """A call let through ended with neither answer (cancelled): a trial may go again."""
        self._trial = False

    def failed(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._trial = False
