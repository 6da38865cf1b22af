"""The per-request account check: current role, token version, a short per-process memory."""

from __future__ import annotations

import pytest

from cloudmall.domain.errors import AuthenticationFailed, PasswordChangeRequired
from cloudmall.domain.users import Role
from cloudmall.services.access import AccessCheck, TokenClaimsAccess
from cloudmall.services.ports import Principal
from tests.unit.fakes import FakeStore

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_role_from_the_account_version_from_the_token() -> None:
    uow = FakeStore()
    async with uow(write=True) as tx:
        user = await tx.users.add(email="a@x.com", name="A", role=Role.ADMIN, password_hash="h")
        await tx.commit()
    clock = Clock()
    access = AccessCheck(uow, ttl_seconds=2, clock=clock)
    token = Principal(user_id=user.id, role=Role.ADMIN, token_version=0)
    assert (await access.current(token)).is_admin
    async with uow(write=True) as tx:
        await tx.users.change_credentials(user.id, role=Role.CUSTOMER)
        await tx.commit()
    assert (await access.current(token)).is_admin  # remembered for up to 2 s
    clock.now += 2
    assert not (await access.current(token)).is_admin  # then read again
    async with uow(write=True) as tx:
        await tx.users.change_credentials(user.id, password_hash="new")
        await tx.commit()
    access.forget(user.id)  # this process made the change: no waiting
    with pytest.raises(AuthenticationFailed):
        await access.current(token)
    assert not (await access.current(Principal(user.id, Role.ADMIN, token_version=1))).is_admin
    with pytest.raises(AuthenticationFailed):
        await access.current(Principal(user_id=999, role=Role.CUSTOMER))


def test_the_memory_is_five_seconds_at_most() -> None:
    with pytest.raises(ValueError, match="0 to 5"):
        AccessCheck(FakeStore(), ttl_seconds=6)


async def test_a_service_without_accounts_believes_the_tokens_claims() -> None:
    """The services topology's products, orders and payments services hold no accounts."""
    access = TokenClaimsAccess(FakeStore())  # empty: no account at all
    token = Principal(user_id=41, role=Role.ADMIN, token_version=3)
    assert await access.current(token) == token
    access.forget(41)
    assert await access.current(token, changing_password=True) == token


async def test_a_service_without_accounts_refuses_a_token_of_an_initial_password() -> None:
    """As the users service does: nothing but the password change until it is changed."""
    access = TokenClaimsAccess(FakeStore())
    token = Principal(user_id=41, role=Role.ADMIN, token_version=3, must_change_password=True)
    with pytest.raises(PasswordChangeRequired):
        await access.current(token)
    assert await access.current(token, changing_password=True) == token
