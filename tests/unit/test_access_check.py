"""The per-request account check: current role, token version, a short per-process memory;
from the accounts, or from the access board in the services without them."""

from __future__ import annotations

import pytest

from cloudmall.adapters.access_board.memory import MemoryAccessBoard
from cloudmall.domain.errors import AuthenticationFailed, PasswordChangeRequired
from cloudmall.domain.users import Role
from cloudmall.services.access import AccessCheck, BoardAccessCheck
from cloudmall.services.ports import AccessBoardUnavailable, AccountAccess, Principal
from tests.unit.fakes import FakeMetrics, FakeStore

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


class DownBoard:
    """An access board that never answers."""

    async def publish(
        self, user_id: int, access: AccountAccess, *, stamp: int, ttl_seconds: int
    ) -> bool:
        raise AccessBoardUnavailable("down")

    async def look_up(self, user_id: int) -> AccountAccess | None:
        raise AccessBoardUnavailable("down")

    async def aclose(self) -> None:
        """Nothing to close."""


async def publish(
    board: MemoryAccessBoard, user_id: int, access: AccountAccess, stamp: int
) -> None:
    assert await board.publish(user_id, access, stamp=stamp, ttl_seconds=3600)


async def test_a_service_without_accounts_believes_a_token_the_board_says_nothing_of() -> None:
    """No entry: no change to the account within a token's lifetime."""
    access = BoardAccessCheck(MemoryAccessBoard(), FakeMetrics())
    token = Principal(user_id=41, role=Role.ADMIN, token_version=3)
    assert await access.current(token) == token
    assert await access.current(token, changing_password=True) == token


async def test_a_token_older_than_the_boards_version_is_refused() -> None:
    """The password was changed (or reset, or set by an operator) since the token was issued."""
    board = MemoryAccessBoard()
    await publish(board, 41, AccountAccess(4, Role.ADMIN), stamp=1)
    access = BoardAccessCheck(board, FakeMetrics())
    with pytest.raises(AuthenticationFailed):
        await access.current(Principal(user_id=41, role=Role.ADMIN, token_version=3))
    fresh = Principal(user_id=41, role=Role.ADMIN, token_version=4)
    assert await access.current(fresh) == fresh


async def test_the_role_is_the_boards_not_the_tokens() -> None:
    board = MemoryAccessBoard()
    await publish(board, 41, AccountAccess(3, Role.CUSTOMER), stamp=1)
    await publish(board, 42, AccountAccess(0, Role.ADMIN), stamp=1)
    access = BoardAccessCheck(board, FakeMetrics())
    demoted = await access.current(Principal(user_id=41, role=Role.ADMIN, token_version=3))
    assert demoted.role is Role.CUSTOMER
    promoted = await access.current(Principal(user_id=42, role=Role.CUSTOMER))
    assert promoted.role is Role.ADMIN


async def test_a_gone_account_is_refused_whatever_its_token_says() -> None:
    board = MemoryAccessBoard()
    await publish(board, 41, AccountAccess(0, None), stamp=1)
    access = BoardAccessCheck(board, FakeMetrics())
    for version in (0, 7):
        with pytest.raises(AuthenticationFailed):
            await access.current(Principal(user_id=41, role=Role.ADMIN, token_version=version))


async def test_a_token_newer_than_the_board_is_believed() -> None:
    """Issued after a change the board has not been told of yet: its claims are the newer."""
    board = MemoryAccessBoard()
    await publish(board, 41, AccountAccess(3, Role.CUSTOMER, must_change_password=True), stamp=1)
    access = BoardAccessCheck(board, FakeMetrics())
    token = Principal(user_id=41, role=Role.ADMIN, token_version=4)
    assert await access.current(token) == token


async def test_an_initial_password_opens_nothing_but_its_change() -> None:
    """From the board (an operator set one since the token) or from the token's claim."""
    board = MemoryAccessBoard()
    await publish(board, 41, AccountAccess(3, Role.ADMIN, must_change_password=True), stamp=1)
    access = BoardAccessCheck(board, FakeMetrics())
    token = Principal(user_id=41, role=Role.ADMIN, token_version=3)
    with pytest.raises(PasswordChangeRequired):
        await access.current(token)
    assert await access.current(token, changing_password=True) == token
    claimed = Principal(user_id=50, role=Role.ADMIN, token_version=3, must_change_password=True)
    with pytest.raises(PasswordChangeRequired):
        await access.current(claimed)
    assert await access.current(claimed, changing_password=True) == claimed


async def test_the_board_is_remembered_for_two_seconds_at_most() -> None:
    board = MemoryAccessBoard()
    clock = Clock()
    access = BoardAccessCheck(board, FakeMetrics(), ttl_seconds=2, clock=clock)
    token = Principal(user_id=41, role=Role.ADMIN, token_version=3)
    assert (await access.current(token)).is_admin
    await publish(board, 41, AccountAccess(3, Role.CUSTOMER), stamp=1)
    assert (await access.current(token)).is_admin  # no entry, remembered
    clock.now += 2
    assert not (await access.current(token)).is_admin
    with pytest.raises(ValueError, match="0 to 5"):
        BoardAccessCheck(board, FakeMetrics(), ttl_seconds=6)


async def test_without_the_board_the_tokens_claims_are_believed_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fail-open (BoardAccessCheck's docstring argues why), never silently."""
    metrics = FakeMetrics()
    access = BoardAccessCheck(DownBoard(), metrics)
    token = Principal(user_id=41, role=Role.ADMIN, token_version=3)
    assert await access.current(token) == token
    assert await access.current(token) == token  # not remembered: asked again
    assert metrics.events.count(("access_board_unavailable", None)) == 2
    assert "access board unavailable" in caplog.text
    initial = Principal(user_id=41, role=Role.ADMIN, token_version=3, must_change_password=True)
    with pytest.raises(PasswordChangeRequired):
        await access.current(initial)
