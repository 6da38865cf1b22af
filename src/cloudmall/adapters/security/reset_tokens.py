"""Password-reset tokens: JWT (HS256, PyJWT) for their own audience, bound to a token version.

The audience keeps them apart from access tokens (neither is accepted as the other). The token
carries the account's token version when it was issued; the reset checks it against the
account's current one, so a token is dead once the password changed (single use).
"""

from __future__ import annotations

import time

import jwt

from cloudmall.domain.errors import ResetLinkExpired, ResetLinkInvalid
from cloudmall.domain.users import User

ALGORITHM = "HS256"


class JwtPasswordResetTokens:
    def __init__(self, *, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    def issue(self, user: User) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user.id),
            "ver": user.token_version,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def read(self, token: str) -> tuple[int, int]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "ver", "iss", "aud"]},
            )
            return int(claims["sub"]), int(claims["ver"])
        except jwt.ExpiredSignatureError as exc:
            raise ResetLinkExpired("This password reset link has expired") from exc
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
            raise ResetLinkInvalid("This password reset link is not valid") from exc
