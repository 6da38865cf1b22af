"""Signed access tokens (JWT, HS256, PyJWT) with issuer, audience and expiry checked."""

from __future__ import annotations

import time
import uuid

import jwt

from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.users import Role, User
from cloudmall.services.ports import Principal

ALGORITHM = "HS256"


class JwtTokenCodec:
    def __init__(self, *, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    def issue(self, user: User) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "sub": str(user.id),
            "role": user.role.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), self._ttl

    def decode(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            return Principal(user_id=int(claims["sub"]), role=Role(claims["role"]))
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("Your session has expired; please log in again") from exc
        except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
            raise AuthenticationFailed("The access token is not valid") from exc
