"""Idempotency-Key support and bounded retries of transactions the database refused."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from cloudmall.domain.errors import DependencyUnavailable, IdempotencyKeyReused, InvalidInput
from cloudmall.services.ports import IdempotencyRecord, RetryableConflict

T = TypeVar("T")

MAX_KEY_LENGTH = 255
#: 1 to 255 visible ASCII characters, spaces only inside (HTTP servers trim them at the ends).
KEY_PATTERN = f"^[!-~](?:[ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$"
RETRY_ATTEMPTS = 4


def fingerprint(payload: Any) -> str:
    """A stable hash of a request's meaning, to tell a true retry from a reused key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"
        )
    return key


def replay(record: IdempotencyRecord, expected_fingerprint: str) -> dict[str, Any]:
    """The stored first answer, if the retry asks for the same thing."""
    if record.fingerprint != expected_fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request")
    answer: dict[str, Any] = json.loads(record.response)
    return answer


async def with_retries(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run a whole transaction again when the database asks for it, a bounded number of times."""
    for _ in range(RETRY_ATTEMPTS - 1):
        try:
            return await attempt()
        except RetryableConflict:
            continue
    try:
        return await attempt()
    except RetryableConflict as exc:
        raise DependencyUnavailable("The shop is busy; please try again") from exc
