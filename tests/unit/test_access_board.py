"""The access board: every change of an account's access records `user.access_changed`; the
users service's `access` reader publishes the account as it is then; the board keeps the newest
publish and forgets an entry once every token from before it has expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cloudmall.adapters.access_board.memory import MemoryAccessBoard
from cloudmall.domain import events
from cloudmall.domain.users import Role
from cloudmall.services import accounts, credentials, password_reset
from cloudmall.services.access import AccessCheck
from cloudmall.services.access_board import (
    ACCESS_CONSUMER,
    AccessPublisher,
    board_ttl_seconds,
    latest_changes,
)
from cloudmall.services.ports import AccessBoardUnavailable, AccountAccess, OutboxEntry
from tests.unit.fakes import FakeHasher, FakeStore

pytestmark = pytest.mark.anyio

PASSWORD = "a long enough passphrase"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FlakyBoard(MemoryAccessBoard):
    """A board that is down while `down` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish(
        self, user_id: int, access: AccountAccess, *, stamp: int, ttl_seconds: int
    ) -> bool:
        if self.down:
            raise AccessBoardUnavailable("down")
        return await super().publish(user_id, access, stamp=stamp, ttl_seconds=ttl_seconds)


async def add_user(store: FakeStore, role: Role = Role.ADMIN) -> int:
    async with store(write=True) as tx:
        user = await tx.users.add(
            email=f"u{len(store.data.users)}@example.com",
            name="U",
            role=role,
            password_hash=f"hashed:{PASSWORD}",
        )
        await tx.commit()
    return user.id


def publisher(store: FakeStore, board: MemoryAccessBoard) -> AccessPublisher:
    return AccessPublisher(
        uow=store, board=board, ttl_seconds=3660, batch_size=10, consumers=(ACCESS_CONSUMER,)
    )


def access_events(store: FakeStore) -> list[tuple[int, str]]:
    return [
        (e.event.payload["user_id"], e.event.payload["change"])
        for e in store.data.outbox
        if e.event.type == "user.access_changed"
    ]


async def test_every_change_of_access_records_an_event_in_its_transaction() -> None:
    """Role (by id, by email, an admin made of an existing account), password (changed,
    set by an operator, reset by a link): the places that change a role or a token version."""
    store = FakeStore()
    user_id = await add_user(store, Role.CUSTOMER)
    email = store.data.users[user_id].email
    access = AccessCheck(store, ttl_seconds=0)
    hasher = FakeHasher()
    await credentials.change_role(uow=store, access=access, user_id=user_id, role=Role.ADMIN)
    await credentials.change_role_by_email(
        uow=store, access=access, email=email, role=Role.CUSTOMER
    )
    await accounts.make_admin(uow=store, hasher=hasher, email=email, password=PASSWORD, name="U")
    await credentials.change_password(
        uow=store,
        hasher=hasher,
        access=access,
        user_id=user_id,
        current_password=PASSWORD,
        new_password="another long passphrase",
    )
    await credentials.set_initial_password(
        uow=store, hasher=hasher, access=access, email=email, password="a one-time passphrase"
    )

    class Links:
        def read(self, token: str) -> tuple[int, int]:
            return user_id, store.data.users[user_id].token_version

    await password_reset.reset_password(
        uow=store,
        hasher=hasher,
        access=access,
        reset_tokens=Links(),  # type: ignore[arg-type]
        token="link",
        new_password="a third long passphrase",
    )
    assert access_events(store) == [
        (user_id, "role"),
        (user_id, "role"),
        (user_id, "role"),
        (user_id, "password"),
        (user_id, "password"),
        (user_id, "password"),
    ]


async def test_the_reader_publishes_each_changed_account_as_it_is_now() -> None:
    store = FakeStore()
    demoted = await add_user(store)
    changed = await add_user(store, Role.CUSTOMER)
    untouched = await add_user(store)
    access = AccessCheck(store, ttl_seconds=0)
    await credentials.change_role(uow=store, access=access, user_id=demoted, role=Role.CUSTOMER)
    await credentials.set_initial_password(
        uow=store,
        hasher=FakeHasher(),
        access=access,
        email=store.data.users[changed].email,
        password="a one-time passphrase",
    )
    board = MemoryAccessBoard()
    assert await publisher(store, board).run_once() == 2
    assert await board.look_up(demoted) == AccountAccess(0, Role.CUSTOMER)
    assert await board.look_up(changed) == AccountAccess(1, Role.CUSTOMER, True)
    assert await board.look_up(untouched) is None  # nothing changed: its tokens say it all
    assert store.data.outbox == []  # its only reader finished them all
    assert await publisher(store, board).run_once() == 0


async def test_a_gone_account_is_published_gone() -> None:
    store = FakeStore()
    user_id = await add_user(store)
    async with store(write=True) as tx:
        await tx.outbox.add([events.user_access_changed(user_id, "role")])
        await tx.commit()
    del store.data.users[user_id]
    board = MemoryAccessBoard()
    await publisher(store, board).run_once()
    found = await board.look_up(user_id)
    assert found is not None and found.gone


async def test_a_board_that_is_down_gets_the_batch_again_later() -> None:
    store = FakeStore()
    user_id = await add_user(store)
    await credentials.change_role(
        uow=store, access=AccessCheck(store), user_id=user_id, role=Role.CUSTOMER
    )
    board = FlakyBoard()
    board.down = True
    with pytest.raises(AccessBoardUnavailable):
        await publisher(store, board).run_once()
    assert len(store.data.outbox) == 1  # claimed, not finished
    board.down = False
    assert await publisher(store, board).run_once() == 1
    assert await board.look_up(user_id) == AccountAccess(0, Role.CUSTOMER)


def test_a_batch_gives_each_account_its_latest_change() -> None:
    """Other events are passed over; the stamp is the change's time in microseconds."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    made = [
        events.user_access_changed(7, "password"),
        events.password_reset_requested(8),
        events.user_access_changed(7, "role"),
    ]
    entries = [
        OutboxEntry(position, replace(event, occurred_at=at + timedelta(seconds=5 - position)))
        for position, event in enumerate(made, start=1)
    ]
    micros = int((at + timedelta(seconds=4)).timestamp() * 1_000_000)
    assert latest_changes(entries) == {7: micros}


async def test_the_board_keeps_the_newest_publish_and_forgets_after_a_tokens_lifetime() -> None:
    clock = Clock()
    board = MemoryAccessBoard(clock=clock)
    ttl = board_ttl_seconds(3600)
    assert ttl > 3600  # past the end of every token issued before the change
    assert await board.publish(7, AccountAccess(1, Role.ADMIN), stamp=10, ttl_seconds=ttl)
    # an older stamp at the same version (a late publisher): kept out
    assert not await board.publish(7, AccountAccess(1, Role.CUSTOMER), stamp=9, ttl_seconds=ttl)
    # an older version, whatever its stamp: kept out
    assert not await board.publish(7, AccountAccess(0, Role.CUSTOMER), stamp=99, ttl_seconds=ttl)
    assert await board.look_up(7) == AccountAccess(1, Role.ADMIN)
    assert await board.publish(7, AccountAccess(1, Role.CUSTOMER), stamp=11, ttl_seconds=ttl)
    assert await board.publish(7, AccountAccess(2, Role.CUSTOMER), stamp=5, ttl_seconds=ttl)
    assert await board.publish(7, AccountAccess(0, None), stamp=1, ttl_seconds=ttl)  # gone
    assert not await board.publish(7, AccountAccess(9, Role.ADMIN), stamp=99, ttl_seconds=ttl)
    assert (await board.look_up(7)) == AccountAccess(0, None)
    clock.now += ttl
    assert await board.look_up(7) is None
