"""Signed access tokens (JWT, PyJWT): an issuer that holds the signing key and a verifier that
holds only what checks a signature.

EdDSA (Ed25519): the issuer signs with the private key and names it in the header (`kid`, the
public key's RFC 7638 thumbprint); the verifier picks the public key by that id, so two keys can
verify side by side during a rotation. HS256 (one shared secret, which therefore can also mint)
is kept for deployments that have not moved yet (docs/security.md, Access tokens). Either way
the verifier accepts its one algorithm only, and issuer, audience and expiry are checked.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cloudmall.adapters.security.signing_keys import PublicKey
from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.users import Role, User
from cloudmall.services.ports import Principal

Algorithm = Literal["EdDSA", "HS256"]


class JwtTokenIssuer:
    """Mints access tokens with one signing key."""

    def __init__(
        self,
        *,
        key: Ed25519PrivateKey | str,
        algorithm: Algorithm,
        kid: str | None,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> None:
        self._key = key
        self._algorithm = algorithm
        self._headers = {"kid": kid} if kid else None
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    @classmethod
    def ed25519(
        cls, key: Ed25519PrivateKey, *, issuer: str, audience: str, ttl_seconds: int
    ) -> JwtTokenIssuer:
        kid = PublicKey.of(key.public_key()).kid
        return cls(
            key=key,
            algorithm="EdDSA",
            kid=kid,
            issuer=issuer,
            audience=audience,
            ttl_seconds=ttl_seconds,
        )

    @classmethod
    def hs256(cls, secret: str, *, issuer: str, audience: str, ttl_seconds: int) -> JwtTokenIssuer:
        return cls(
            key=secret,
            algorithm="HS256",
            kid=None,
            issuer=issuer,
            audience=audience,
            ttl_seconds=ttl_seconds,
        )

    def issue(self, user: User) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "sub": str(user.id),
            "role": user.role.value,
            "ver": user.token_version,
            # Read by the services without the accounts (BoardAccessCheck) when the access board
            # has no newer word: they refuse such a token everywhere, as the users service does,
            # until the password is changed.
            "pwd_change": user.must_change_password,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._key, algorithm=self._algorithm, headers=self._headers)
        return token, self._ttl


class JwtTokenVerifier:
    """Checks tokens against its keys, chosen by the header's `kid` (none for HS256); a token
    already verified is remembered until it expires."""

    def __init__(
        self,
        *,
        keys: Mapping[str | None, Ed25519PublicKey | str],
        algorithm: Algorithm,
        issuer: str,
        audience: str,
        published: Sequence[PublicKey] = (),
        remember: int = 10_000,
    ) -> None:
        self._keys = keys
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self._published = published
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._remember = remember

    @classmethod
    def ed25519(cls, keys: Sequence[PublicKey], *, issuer: str, audience: str) -> JwtTokenVerifier:
        if not keys:
            raise ValueError("a token verifier needs at least one public key")
        return cls(
            keys={key.kid: key.key for key in keys},
            algorithm="EdDSA",
            issuer=issuer,
            audience=audience,
            published=keys,
        )

    @classmethod
    def hs256(cls, secret: str, *, issuer: str, audience: str) -> JwtTokenVerifier:
        return cls(keys={None: secret}, algorithm="HS256", issuer=issuer, audience=audience)

    def key_set(self) -> Mapping[str, object]:
        return {"keys": [key.jwk() for key in self._published]}

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
            key = self._keys.get(jwt.get_unverified_header(token).get("kid"))  # str or none
            if key is None:
                raise jwt.InvalidTokenError("no key with this id")
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],  # pinned: the header's `alg` chooses nothing
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            principal = Principal(
                user_id=int(claims["sub"]),
                role=Role(claims["role"]),
                token_version=int(claims.get("ver", 0)),  # tokens from before versions: 0
                must_change_password=claims.get("pwd_change", False) is True,
            )
            return principal, int(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("Your session has expired; please log in again") from exc
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
            raise AuthenticationFailed("The access token is not valid") from exc
