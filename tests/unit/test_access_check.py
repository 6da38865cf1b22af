"""The per-request account check: current role, token version, a short per-process memory."""

from __future__ import annotations

import asyncio
from typing import Self

import pytest

from cloudmall.domain.errors import AuthenticationFailed, PasswordChangeRequired
from cloudmall.domain.users import Role
from cloudmall.services.access import AccessCheck, TokenClaimsAccess
from cloudmall.services.ports import Principal
from tests.unit.fakes import FakeStore, FakeUnitOfWork

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


class CountedStore(FakeStore):
    """Counts the read-only transactions; `gate`, once set up, holds each read after its
    snapshot is taken (the account as it was when the read began) until it is opened, and
    `entered` counts the reads that got that far."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Semaphore(0)

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        if not write:
            self.reads += 1
        store = self

        class Held(FakeUnitOfWork):
            async def __aenter__(self) -> Self:
                entered = await super().__aenter__()
                if store.gate is not None and not write:
                    store.entered.release()
                    await store.gate.wait()
                return entered

        return Held(self, write)


async def customer(store: FakeStore) -> Principal:
    async with store(write=True) as tx:
        user = await tx.users.add(email="c@x.com", name="C", role=Role.CUSTOMER, password_hash="h")
        await tx.commit()
    return Principal(user_id=user.id, role=Role.CUSTOMER, token_version=0)


async def test_requests_that_find_the_answer_stale_together_share_one_read() -> None:
    store = CountedStore()
    token = await customer(store)
    clock = Clock()
    access = AccessCheck(store, ttl_seconds=2, clock=clock)
    store.gate = asyncio.Event()
    asking = [asyncio.ensure_future(access.current(token)) for _ in range(5)]
    await store.entered.acquire()  # the read is under way while all five wait
    store.gate.set()
    assert await asyncio.gather(*asking) == [token] * 5
    assert store.reads == 1
    clock.now += 2
    await asyncio.gather(*(access.current(token) for _ in range(5)), store.entered.acquire())
    assert store.reads == 2


async def test_a_read_begun_before_a_change_is_neither_joined_nor_remembered() -> None:
    store = CountedStore()
    token = await customer(store)
    access = AccessCheck(store, ttl_seconds=2, clock=Clock())
    store.gate = asyncio.Event()
    before = asyncio.ensure_future(access.current(token))
    await store.entered.acquire()  # its read has taken the account as it was
    async with store(write=True) as tx:
        await tx.users.change_credentials(token.user_id, password_hash="new")  # version 1
        await tx.commit()
    access.forget(token.user_id)
    after = asyncio.ensure_future(access.current(token))
    await store.entered.acquire()  # a read of its own, not the one under way
    store.gate.set()
    assert await before == token  # it began before the change
    with pytest.raises(AuthenticationFailed):
        await after  # its own read, after the change
    with pytest.raises(AuthenticationFailed):
        await access.current(token)  # what is remembered is the read after the change
    assert store.reads == 2


async def test_a_request_that_goes_away_does_not_cancel_the_read_others_wait_for() -> None:
    store = CountedStore()
    token = await customer(store)
    access = AccessCheck(store, ttl_seconds=2, clock=Clock())
    store.gate = asyncio.Event()
    leaving = asyncio.ensure_future(access.current(token))
    staying = asyncio.ensure_future(access.current(token))
    await store.entered.acquire()
    leaving.cancel()
    store.gate.set()
    assert await staying == token
    assert store.reads == 1
