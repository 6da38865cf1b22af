"""Refresh sessions against fakes (rotation, reuse detection, expiry, log-out, password
change), sign-up consent and the profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudmall.domain.errors import AuthenticationFailed, ConsentRequired, InvalidInput
from cloudmall.domain.users import Role
from cloudmall.services import credentials, profile
from cloudmall.services.access import AccessCheck
from cloudmall.services.consents import LegalVersions, required_consents
from cloudmall.services.sessions import RefreshSessions, token_hash
from tests.unit.fakes import FakeHasher, FakeStore, customer

pytestmark = pytest.mark.anyio
DAY = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _user(store: FakeStore) -> int:
    hashed = await FakeHasher().hash("a long passphrase")
    async with store(write=True) as tx:
        user = await tx.users.add(
            email="kim@example.com", name="Kim", role=Role.CUSTOMER, password_hash=hashed
        )
        await tx.commit()
    return user.id


def issued_user(store: FakeStore) -> int:
    (user_id,) = {t.user_id for t in store.data.refresh_tokens.values()}
    return user_id


async def test_a_refresh_rotates_the_token_and_keeps_the_sessions_end(store: FakeStore) -> None:
    clock = Clock()
    sessions = RefreshSessions(lifetime_seconds=30 * DAY, clock=clock)
    user_id = await _user(store)
    first = await sessions.start(store, user_id)
    assert first.expires_at == clock.now + timedelta(days=30)
    clock.now += timedelta(days=1)
    user, second = await sessions.rotate(store, first.token)
    assert user.id == user_id and second.token != first.token
    assert second.expires_at == first.expires_at  # counted from the log-in
    stored = {t.token_hash for t in store.data.refresh_tokens.values()}
    assert stored == {token_hash(first.token), token_hash(second.token)}
    assert first.token not in str(store.data.refresh_tokens)  # hashes only
    _, third = await sessions.rotate(store, second.token)
    assert third.token not in (first.token, second.token)


async def test_a_rotated_token_presented_again_revokes_its_whole_family(store: FakeStore) -> None:
    sessions = RefreshSessions(lifetime_seconds=DAY)
    user_id = await _user(store)
    stolen = await sessions.start(store, user_id)
    other_device = await sessions.start(store, user_id)
    _, current = await sessions.rotate(store, stolen.token)  # the owner refreshes
    with pytest.raises(AuthenticationFailed):
        await sessions.rotate(store, stolen.token)  # the thief replays the old one
    with pytest.raises(AuthenticationFailed):  # the owner's newer token died with the family
        await sessions.rotate(store, current.token)
    await sessions.rotate(store, other_device.token)  # another log-in is another family


async def test_an_expired_or_unknown_token_is_refused(store: FakeStore) -> None:
    clock = Clock()
    sessions = RefreshSessions(lifetime_seconds=DAY, clock=clock)
    issued = await sessions.start(store, await _user(store))
    with pytest.raises(AuthenticationFailed):
        await sessions.rotate(store, "not a token")
    clock.now += timedelta(days=1)
    with pytest.raises(AuthenticationFailed):
        await sessions.rotate(store, issued.token)
    assert len(store.data.refresh_tokens) == 1
    await sessions.start(store, issued_user(store))  # the next log-in clears the ended session
    assert len(store.data.refresh_tokens) == 1


async def test_log_out_ends_the_family(store: FakeStore) -> None:
    sessions = RefreshSessions(lifetime_seconds=DAY)
    first = await sessions.start(store, await _user(store))
    _, second = await sessions.rotate(store, first.token)
    await sessions.end(store, second.token)
    with pytest.raises(AuthenticationFailed):
        await sessions.rotate(store, second.token)
    await sessions.end(store, "unknown")  # nothing to end: no error


async def test_a_password_change_ends_every_session_of_the_account(store: FakeStore) -> None:
    sessions = RefreshSessions(lifetime_seconds=DAY)
    user_id = await _user(store)
    phone, laptop = [await sessions.start(store, user_id) for _ in range(2)]
    await credentials.change_password(
        uow=store,
        hasher=FakeHasher(),
        access=AccessCheck(store),
        user_id=user_id,
        current_password="a long passphrase",
        new_password="another long passphrase 7",
    )
    for issued in (phone, laptop):
        with pytest.raises(AuthenticationFailed):
            await sessions.rotate(store, issued.token)


def test_sign_up_needs_both_consents_recorded_at_the_current_versions() -> None:
    versions = LegalVersions(privacy="p-2026", terms="t-2026")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ConsentRequired) as refused:
        required_consents({"terms"}, versions=versions, at=at)
    assert refused.value.missing == ["privacy"] and refused.value.code == "consent_required"
    given = required_consents({"privacy", "terms"}, versions=versions, at=at)
    assert {(c.document.value, c.version, c.agreed_at) for c in given} == {
        ("privacy", "p-2026", at),
        ("terms", "t-2026", at),
    }


async def test_a_profile_changes_name_and_phone_and_refuses_a_non_phone(store: FakeStore) -> None:
    user_id = await _user(store)
    me = customer(user_id)
    changed = await profile.update_profile(
        uow=store, principal=me, name=" 김철수 ", phone="010-1234-5678"
    )
    assert (changed.user.name, changed.user.phone) == ("김철수", "010-1234-5678")
    cleared = await profile.update_profile(uow=store, principal=me, name=None, phone="")
    assert (cleared.user.name, cleared.user.phone) == ("김철수", "")
    with pytest.raises(InvalidInput):
        await profile.update_profile(uow=store, principal=me, name=None, phone="call me")
