"""Argon2id password hashing (argon2-cffi), off the event loop."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from argon2 import PasswordHasher as Argon2Hasher


class Argon2PasswordHasher:
    """Argon2id with argon2-cffi's RFC 9106 low-memory profile defaults (t=3, m=64 MiB, p=4)."""

    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._given = hasher
        self._limiter = anyio.CapacityLimiter(4)  # bound memory: 64 MiB per hash in flight

    @functools.cached_property
    def _hasher(self) -> Argon2Hasher:
        """argon2-cffi, imported on first use: the functions that never hash (catalogue,
        orders) skip its import at cold start."""
        from argon2 import PasswordHasher

        return self._given or PasswordHasher()

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Verified against when the account does not exist (the same time as a real check).
        Made on first use, not at start: a function that never logs anyone in (the catalogue)
        skips its 64 MiB and its CPU time at cold start."""
        return self._hasher.hash("cloudmall-dummy-password")

    async def hash(self, password: str) -> str:
        hasher = self._hasher
        return await anyio.to_thread.run_sync(hasher.hash, password, limiter=self._limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        hasher = self._hasher  # built here, on the event loop's thread, not in two workers

        def check() -> bool:
            try:
                return hasher.verify(password_hash or self._dummy_hash, password) and (
                    password_hash is not None
                )
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check, limiter=self._limiter)
