"""When an outbox reader's claim sweeps for gaps: events below the highest one it claimed,
whose transaction took its position before a later event's and committed after that one was
claimed (`Outbox.claim(gaps=True)`, which costs in proportion to the claimed events still in
the outbox; the claim without it looks above the highest claimed event only)."""

from __future__ import annotations

import time
from collections.abc import Callable


class GapSweeps:
    """Per consumer: a process's first claim sweeps, then at most one claim every
    `every_seconds`; and a claim that found nothing without sweeping sweeps at once (so an
    idle reader always ends with a sweep). An event that commits late is claimed within
    `every_seconds` of its commit while the reader is busy, at its next run when it is idle."""

    def __init__(
        self, every_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._every = every_seconds
        self._clock = clock
        self._last: dict[str, float] = {}

    def due(self, consumer: str) -> bool:
        last = self._last.get(consumer)
        return last is None or self._clock() - last >= self._every

    def swept(self, consumer: str) -> None:
        self._last[consumer] = self._clock()
