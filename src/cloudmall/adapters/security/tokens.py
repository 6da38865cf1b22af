"""Signed access tokens (JWT, HS256, PyJWT) with issuer, audience and expiry checked."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

import jwt

from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.users import Role, User
from cloudmall.services.ports import Principal

ALGORITHM = "HS256"


class JwtTokenCodec:
    """Issues and checks tokens; a token already verified is remembered until it expires."""

    def __init__(
        self, *, secret: str, issuer: str, audience: str, ttl_seconds: int, remember: int = 10_000
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._remember = remember

    def issue(self, user: User) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "sub": str(user.id),
            "role": user.role.value,
            "ver": user.token_version,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), self._ttl

    def decode(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() < expires:
                return principal
            del self._verified[token]  # the full check below says why it is refused
        principal, expires = self._verify(token)
        if len(self._verified) >= self._remember:
            self._verified.popitem(last=False)
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            principal = Principal(
                user_id=int(claims["sub"]),
                role=Role(claims["role"]),
                token_version=int(claims.get("ver", 0)),  # tokens from before versions: 0
            )
            return principal, int(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("Your session has expired; please log in again") from exc
        except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
            raise AuthenticationFailed("The access token is not valid") from exc
