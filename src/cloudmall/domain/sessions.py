"""Sessions that outlast an access token: refresh tokens, rotated on every use.

A log-in starts a family; each refresh retires the token it was given and issues the family's
next one. A retired token presented again means two parties hold the family (one of them stole
it): the whole family is revoked. Only a token's hash is ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: int
    family: str
    user_id: int
    token_hash: str
    created_at: datetime
    expires_at: datetime  # the family's: a session lasts at most its lifetime from the log-in
    rotated_at: datetime | None = None  # used once, replaced by the family's next token
    revoked_at: datetime | None = None  # log-out, password change or reuse

    def usable(self, now: datetime) -> bool:
        return self.rotated_at is None and self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class NewRefreshToken:
    family: str
    user_id: int
    token_hash: str
    created_at: datetime
    expires_at: datetime
