"""Argon2id password hashing (argon2-cffi), off the event loop."""

from __future__ import annotations

import functools

import anyio
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2PasswordHasher:
    """Argon2id with argon2-cffi's RFC 9106 low-memory profile defaults (t=3, m=64 MiB, p=4)."""

    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._hasher = hasher or Argon2Hasher()
        self._limiter = anyio.CapacityLimiter(4)  # bound memory: 64 MiB per hash in flight

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Verified against when the account does not exist (the same time as a real check).
        Made on first use, not at start: a function that never logs anyone in (the catalogue)
        skips its 64 MiB and its CPU time at cold start."""
        return self._hasher.hash("cloudmall-dummy-password")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                    password_hash is not None
                )
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check, limiter=self._limiter)
