"""HS256 tokens and passwords: the adapters' own rules (pure computation, no I/O). EdDSA
tokens: test_access_tokens.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest

from cloudmall.adapters.security.passwords import Argon2PasswordHasher
from cloudmall.adapters.security.tokens import JwtTokenIssuer, JwtTokenVerifier
from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.users import Role, User

SECRET = "k" * 64
ISSUER = JwtTokenIssuer.hs256(SECRET, issuer="cloudmall", audience="cloudmall-api", ttl_seconds=60)
VERIFIER = JwtTokenVerifier.hs256(SECRET, issuer="cloudmall", audience="cloudmall-api")
USER = User(7, "a@b.co", "A", Role.ADMIN, "x", datetime.now(UTC))


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "7",
        "role": "admin",
        "iss": "cloudmall",
        "aud": "cloudmall-api",
        "iat": now,
        "exp": now + 60,
    }
    base.update(overrides)
    return base


def test_a_fresh_token_names_the_user_and_role() -> None:
    token, ttl = ISSUER.issue(USER)
    principal = VERIFIER.decode(token)
    assert (principal.user_id, principal.role, ttl) == (7, Role.ADMIN, 60)


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(claims(exp=int(time.time()) - 10), SECRET, algorithm="HS256"),
        jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"),
        jwt.encode(claims(iss="evil"), SECRET, algorithm="HS256"),
        jwt.encode(claims(), "another-secret-of-sufficient-length-000000", algorithm="HS256"),
        jwt.encode(claims(), None, algorithm="none"),
        jwt.encode(claims(role="owner"), SECRET, algorithm="HS256"),
        "not.a.token",
        "",
    ],
    ids=["expired", "audience", "issuer", "other-key", "alg-none", "bad-role", "garbage", "empty"],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        VERIFIER.decode(token)


def test_a_tampered_token_is_refused() -> None:
    token, _ = ISSUER.issue(USER)
    header, _, signature = token.split(".")
    forged = jwt.encode(
        claims(sub="1"), "a-guessed-key-that-is-long-enough-to-sign", algorithm="HS256"
    ).split(".")[1]
    with pytest.raises(AuthenticationFailed):
        VERIFIER.decode(f"{header}.{forged}.{signature}")


def test_expired_tokens_say_the_session_expired() -> None:
    with pytest.raises(AuthenticationFailed, match="expired"):
        VERIFIER.decode(jwt.encode(claims(exp=int(time.time()) - 10), SECRET, algorithm="HS256"))


@pytest.mark.anyio
async def test_argon2id_hashes_verify_and_refuse() -> None:
    hasher = Argon2PasswordHasher()
    stored = await hasher.hash("a long passphrase " * 20)
    assert stored.startswith("$argon2id$")
    assert await hasher.verify(stored, "a long passphrase " * 20)
    assert not await hasher.verify(stored, "wrong")
    assert not await hasher.verify(None, "anything")
    assert not await hasher.verify("not-a-hash", "anything")


def test_a_remembered_token_still_expires() -> None:
    issuer = JwtTokenIssuer.hs256(
        SECRET, issuer="cloudmall", audience="cloudmall-api", ttl_seconds=1
    )
    verifier = JwtTokenVerifier.hs256(SECRET, issuer="cloudmall", audience="cloudmall-api")
    token, _ = issuer.issue(USER)
    assert verifier.decode(token).user_id == 7
    assert verifier.decode(token).user_id == 7  # from memory
    time.sleep(2.05)  # exp is whole seconds: past it for sure
    with pytest.raises(AuthenticationFailed, match="expired"):
        verifier.decode(token)
