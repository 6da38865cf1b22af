"""Password reset and initial passwords, against fakes: the request tells nobody whether an
account exists, the link works once and only until it expires, and an initial password must be
changed before the account can do anything else."""

from __future__ import annotations

import time

import jwt
import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.security.reset_tokens import JwtPasswordResetTokens
from cloudmall.domain import events
from cloudmall.domain.errors import (
    PasswordChangeRequired,
    PasswordRejected,
    RateLimited,
    ResetLinkExpired,
    ResetLinkInvalid,
    ResetLinkUsed,
)
from cloudmall.services import accounts, credentials, password_reset
from cloudmall.services.access import AccessCheck
from cloudmall.services.ports import Principal
from cloudmall.services.rate_limit import Limit, RateLimiter, SlowDown, Throttles
from tests.unit.fakes import FakeHasher, FakeResetTokens, FakeStore

pytestmark = pytest.mark.anyio
PASSWORD = "a long passphrase"
SECRET = "s" * 64
TOKENS = JwtPasswordResetTokens(
    secret=SECRET, issuer="cloudmall", audience="cloudmall-api:password-reset", ttl_seconds=600
)


def throttles(per_client: int = 10, per_account: int = 3) -> Throttles:
    return Throttles(
        limiter=RateLimiter(MemoryCache()),
        login_per_account_and_client=Limit("login-account-client", 10, 60),
        login_per_client=Limit("login-client", 10, 60),
        login_per_account=Limit("login-account", 10, 60),
        slow_down=SlowDown(free=10),
        signup_per_client=Limit("signup-client", 10, 60),
        reset_per_client=Limit("reset-client", per_client, 3600),
        reset_per_account=Limit("reset-account", per_account, 3600),
    )


async def sign_up(store: FakeStore, email: str = "kim@example.com") -> int:
    user = await accounts.sign_up(
        uow=store, hasher=FakeHasher(), email=email, password=PASSWORD, name="Kim"
    )
    return user.id


def reset_requests(store: FakeStore) -> list[events.Event]:
    kind = events.PASSWORD_RESET_REQUESTED.name
    return [e.event for e in store.data.outbox if e.event.type == kind]


async def test_a_request_records_the_account_id_alone_and_unknown_emails_the_same(
    store: FakeStore,
) -> None:
    user_id = await sign_up(store)
    limits = throttles()
    await password_reset.request_reset(
        uow=store, throttles=limits, email=" KIM@example.com", client="1.1.1.1"
    )
    await password_reset.request_reset(
        uow=store, throttles=limits, email="nobody@example.com", client="1.1.1.1"
    )
    (requested,) = reset_requests(store)
    assert requested.payload == {"user_id": user_id}


async def test_requests_are_limited_per_client_loudly_and_per_account_silently(
    store: FakeStore,
) -> None:
    await sign_up(store)
    limits = throttles(per_client=5, per_account=2)
    for n in range(4):
        await password_reset.request_reset(
            uow=store, throttles=limits, email="kim@example.com", client=f"10.0.0.{n}"
        )
    assert len(reset_requests(store)) == 2  # past the account's limit: nothing sent, same answer
    for _ in range(5):
        await password_reset.request_reset(
            uow=store, throttles=limits, email="nobody@example.com", client="9.9.9.9"
        )
    with pytest.raises(RateLimited):
        await password_reset.request_reset(
            uow=store, throttles=limits, email="nobody@example.com", client="9.9.9.9"
        )


async def test_a_reset_link_works_once_and_ends_every_session(store: FakeStore) -> None:
    user_id = await sign_up(store)
    access = AccessCheck(store, ttl_seconds=0)
    before = store.data.users[user_id]
    token = TOKENS.issue(before)
    reset = await password_reset.reset_password(
        uow=store,
        hasher=FakeHasher(),
        access=access,
        reset_tokens=TOKENS,
        token=token,
        new_password="a brand new passphrase",
    )
    assert reset.password_hash == "hashed:a brand new passphrase"
    assert reset.token_version == before.token_version + 1
    with pytest.raises(Exception, match="session has ended"):  # older access tokens are dead
        await access.current(Principal(user_id, before.role, before.token_version))
    with pytest.raises(ResetLinkUsed):
        await password_reset.reset_password(
            uow=store,
            hasher=FakeHasher(),
            access=access,
            reset_tokens=TOKENS,
            token=token,
            new_password="yet another passphrase",
        )


async def test_any_password_change_kills_a_link_sent_before(store: FakeStore) -> None:
    user_id = await sign_up(store)
    token = f"{user_id}:0:ok"
    access = AccessCheck(store, ttl_seconds=0)
    await credentials.change_password(
        uow=store,
        hasher=FakeHasher(),
        access=access,
        user_id=user_id,
        current_password=PASSWORD,
        new_password="a brand new passphrase",
    )
    with pytest.raises(ResetLinkUsed):
        await password_reset.reset_password(
            uow=store,
            hasher=FakeHasher(),
            access=access,
            reset_tokens=FakeResetTokens(),
            token=token,
            new_password="yet another passphrase",
        )


async def test_the_password_policy_applies_to_a_reset(store: FakeStore) -> None:
    user_id = await sign_up(store)
    with pytest.raises(PasswordRejected):
        await password_reset.reset_password(
            uow=store,
            hasher=FakeHasher(),
            access=AccessCheck(store),
            reset_tokens=FakeResetTokens(),
            token=f"{user_id}:0:ok",
            new_password="password",
        )


async def test_forged_expired_and_foreign_tokens_each_get_their_code(store: FakeStore) -> None:
    user_id = await sign_up(store)
    now = int(time.time())
    claims = {"sub": str(user_id), "ver": 0, "iss": "cloudmall", "iat": now}
    expired = jwt.encode(
        {**claims, "aud": "cloudmall-api:password-reset", "exp": now - 1}, SECRET, "HS256"
    )
    forged = jwt.encode(
        {**claims, "aud": "cloudmall-api:password-reset", "exp": now + 60}, "x" * 64, "HS256"
    )
    access_token = jwt.encode(  # an access token is no reset link
        {**claims, "aud": "cloudmall-api", "exp": now + 60, "role": "customer"}, SECRET, "HS256"
    )
    with pytest.raises(ResetLinkExpired) as refused:
        TOKENS.read(expired)
    assert refused.value.code == "reset_link_expired"
    for bad in (forged, access_token, "not-a-token", ""):
        with pytest.raises(ResetLinkInvalid) as refused:
            TOKENS.read(bad)
        assert refused.value.code == "reset_link_invalid"


async def test_an_initial_password_allows_only_its_change(store: FakeStore) -> None:
    account = await accounts.make_admin(
        uow=store,
        hasher=FakeHasher(),
        email="ops@example.com",
        password="printed once 1234",
        name="Ops",
        temporary=True,
    )
    user = account.user
    assert account.created and user.must_change_password
    access = AccessCheck(store, ttl_seconds=0)
    principal = Principal(user.id, user.role, user.token_version)
    with pytest.raises(PasswordChangeRequired) as refused:
        await access.current(principal)
    assert refused.value.code == "password_change_required"
    assert await access.current(principal, changing_password=True) == principal
    changed = await credentials.change_password(
        uow=store,
        hasher=FakeHasher(),
        access=access,
        user_id=user.id,
        current_password="printed once 1234",
        new_password="the staff's own passphrase",
    )
    assert not changed.must_change_password
    assert await access.current(Principal(user.id, user.role, changed.token_version))


async def test_an_operators_new_one_time_password_must_be_changed_too(store: FakeStore) -> None:
    user_id = await sign_up(store)
    access = AccessCheck(store, ttl_seconds=0)
    user = await credentials.set_initial_password(
        uow=store, hasher=FakeHasher(), access=access, email="Kim@example.com", password="x" * 16
    )
    assert user.id == user_id and user.must_change_password and user.token_version == 1
    with pytest.raises(PasswordChangeRequired):
        await access.current(Principal(user.id, user.role, user.token_version))


async def test_a_chosen_admin_password_is_not_an_initial_one(store: FakeStore) -> None:
    account = await accounts.make_admin(
        uow=store, hasher=FakeHasher(), email="ops@example.com", password=PASSWORD, name="Ops"
    )
    assert not account.user.must_change_password
