"""Sign-up and log-in rules, against fakes."""

from __future__ import annotations

import pytest

from cloudmall.adapters.security.tokens import JwtTokenIssuer, JwtTokenVerifier
from cloudmall.domain.errors import AuthenticationFailed, EmailTaken, InvalidInput
from cloudmall.domain.users import Role
from cloudmall.services import accounts
from tests.unit.fakes import FakeHasher, FakeStore

pytestmark = pytest.mark.anyio
TOKENS = JwtTokenIssuer.hs256(
    "s" * 64, issuer="cloudmall", audience="cloudmall-api", ttl_seconds=60
)
VERIFIER = JwtTokenVerifier.hs256("s" * 64, issuer="cloudmall", audience="cloudmall-api")


async def test_sign_up_then_log_in_case_insensitively(store: FakeStore) -> None:
    user = await accounts.sign_up(
        uow=store,
        hasher=FakeHasher(),
        email="Kim@Example.com",
        password="a long passphrase",
        name="김",
    )
    assert user.email == "kim@example.com" and user.role is Role.CUSTOMER
    session = await accounts.log_in(
        uow=store,
        hasher=FakeHasher(),
        token_issuer=TOKENS,
        email="KIM@example.COM",
        password="a long passphrase",
    )
    assert VERIFIER.decode(session.access_token).user_id == user.id
    with pytest.raises(EmailTaken):
        await accounts.sign_up(
            uow=store,
            hasher=FakeHasher(),
            email="kim@EXAMPLE.com",
            password="another passphrase",
            name="K",
        )


async def test_wrong_password_and_unknown_email_look_the_same(store: FakeStore) -> None:
    await accounts.sign_up(
        uow=store, hasher=FakeHasher(), email="a@b.co", password="a long passphrase", name="A"
    )
    for email, password in (("a@b.co", "wrong password"), ("nobody@b.co", "a long passphrase")):
        with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
            await accounts.log_in(
                uow=store, hasher=FakeHasher(), token_issuer=TOKENS, email=email, password=password
            )


@pytest.mark.parametrize("password", ["short", "password123", "Qwertyuiop", "x" * 1025])
async def test_weak_or_absurd_passwords_are_refused(store: FakeStore, password: str) -> None:
    with pytest.raises(InvalidInput):
        await accounts.sign_up(
            uow=store, hasher=FakeHasher(), email="a@b.co", password=password, name="A"
        )


async def test_make_admin_promotes_an_existing_account(store: FakeStore) -> None:
    user = await accounts.sign_up(
        uow=store, hasher=FakeHasher(), email="a@b.co", password="a long passphrase", name="A"
    )
    promoted = await accounts.make_admin(
        uow=store, hasher=FakeHasher(), email="A@b.co", password="ignored passphrase", name="A"
    )
    assert promoted.user.id == user.id and promoted.user.role is Role.ADMIN
    assert not promoted.created
    assert promoted.user.password_hash == user.password_hash  # the password stays
