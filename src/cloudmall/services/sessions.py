"""Refresh sessions: a log-in's family of refresh tokens, rotated on every use (domain/sessions).

A refresh token is 256 random bits; the database keeps only its SHA-256 (a slow hash buys
nothing against a secret that cannot be guessed), so a leaked table lets no one in.

Each use case runs again when the database asks (`with_retries`): on DynamoDB two refreshes
with one token both read it unused, and the second's conditional write is refused; run again,
it sees the token used (a replay) and ends the family, as the SQL row lock makes it do.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.sessions import NewRefreshToken
from cloudmall.domain.users import User
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

ENDED = "Your session has ended; please log in again"


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    """A refresh token for the client (its only copy) and when its session ends."""

    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


class RefreshSessions:
    """Starts, rotates and ends sessions; `lifetime_seconds` counts from the log-in."""

    def __init__(self, *, lifetime_seconds: int, clock: Callable[[], datetime] = utc_now) -> None:
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._clock = clock

    async def start(self, uow: UnitOfWorkFactory, user_id: int) -> IssuedRefresh:
        """A new family for a log-in; the account's sessions that have ended are cleared away
        (kept until then: a rotated token must be recognised for as long as its family lives)."""

        async def attempt() -> IssuedRefresh:
            async with uow(write=True) as tx:
                now = self._clock()
                await tx.refresh_tokens.delete_expired(user_id, now)
                family = secrets.token_hex(16)
                issued = await self._issue(tx, family, user_id, now + self._lifetime)
                await tx.commit()
            return issued

        return await with_retries(attempt)

    async def rotate(self, uow: UnitOfWorkFactory, presented: str) -> tuple[User, IssuedRefresh]:
        """Retire `presented` and issue its family's next token, for the account as it is now.

        AuthenticationFailed if it is unknown, expired or revoked; if it was already rotated
        (a replay), its whole family is revoked first.
        """
        return await with_retries(lambda: self._rotate(uow, presented))

    async def _rotate(self, uow: UnitOfWorkFactory, presented: str) -> tuple[User, IssuedRefresh]:
        async with uow(write=True) as tx:
            now = self._clock()
            found = await tx.refresh_tokens.by_hash(token_hash(presented))
            if found is None:
                raise AuthenticationFailed(ENDED)
            if found.rotated_at is not None and found.revoked_at is None:
                revoked = await tx.refresh_tokens.revoke_family(found.family, now)
                await tx.commit()
                log.warning(
                    "refresh token reused: family of user %s revoked (%d tokens)",
                    found.user_id,
                    revoked,
                )
                raise AuthenticationFailed(ENDED)
            if not found.usable(now) or not await tx.refresh_tokens.rotate(found.id, now):
                raise AuthenticationFailed(ENDED)
            user = await tx.users.get(found.user_id)
            if user is None:
                raise AuthenticationFailed(ENDED)
            issued = await self._issue(tx, found.family, user.id, found.expires_at)
            await tx.commit()
        return user, issued

    async def end(self, uow: UnitOfWorkFactory, presented: str) -> None:
        """Log-out: revoke the family of `presented` (an unknown token: nothing to do)."""

        async def attempt() -> None:
            async with uow(write=True) as tx:
                found = await tx.refresh_tokens.by_hash(token_hash(presented))
                if found is not None:
                    await tx.refresh_tokens.revoke_family(found.family, self._clock())
                    await tx.commit()

        await with_retries(attempt)

    async def _issue(
        self, tx: UnitOfWork, family: str, user_id: int, expires_at: datetime
    ) -> IssuedRefresh:
        token = secrets.token_urlsafe(32)
        await tx.refresh_tokens.add(
            NewRefreshToken(
                family=family,
                user_id=user_id,
                token_hash=token_hash(token),
                created_at=self._clock(),
                expires_at=expires_at,
            )
        )
        return IssuedRefresh(token=token, expires_at=expires_at)
