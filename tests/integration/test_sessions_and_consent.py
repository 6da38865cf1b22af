"""Refresh tokens, consents and the profile's phone on each real backend, and their migration."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain.consents import Consent, Document
from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.sessions import NewRefreshToken
from cloudmall.services import profile
from cloudmall.services.sessions import RefreshSessions, token_hash
from tests.integration.migration_step import MigrationStep
from tests.integration.test_sql_adapters import new_user
from tests.unit.fakes import customer

pytestmark = pytest.mark.anyio
AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)


async def test_refresh_tokens_round_trip_rotate_once_and_revoke(uow: SqlUnitOfWorkFactory) -> None:
    user_id = await new_user(uow)
    other_id = await new_user(uow, "other@b.co")
    async with uow(write=True) as tx:
        first = await tx.refresh_tokens.add(
            NewRefreshToken("f" * 32, user_id, "a" * 64, AT, AT + timedelta(days=30))
        )
        await tx.refresh_tokens.add(NewRefreshToken("f" * 32, user_id, "b" * 64, AT, AT))
        await tx.refresh_tokens.add(NewRefreshToken("g" * 32, user_id, "c" * 64, AT, AT))
        await tx.refresh_tokens.add(NewRefreshToken("h" * 32, other_id, "d" * 64, AT, AT))
        await tx.commit()
    async with uow(write=True) as tx:
        found = await tx.refresh_tokens.by_hash("a" * 64)
        assert found == first and found.expires_at == AT + timedelta(days=30)
        assert await tx.refresh_tokens.by_hash("z" * 64) is None
        assert await tx.refresh_tokens.rotate(first.id, AT)
        assert not await tx.refresh_tokens.rotate(first.id, AT)  # only once
        assert await tx.refresh_tokens.revoke_family("f" * 32, AT) == 2
        assert await tx.refresh_tokens.revoke_family("f" * 32, AT) == 0
        assert await tx.refresh_tokens.revoke_user(user_id, AT) == 1  # family g is left
        await tx.commit()
    async with uow() as tx:
        rotated = await tx.refresh_tokens.by_hash("a" * 64)
        assert rotated is not None and rotated.rotated_at == AT and rotated.revoked_at == AT
        untouched = await tx.refresh_tokens.by_hash("d" * 64)
        assert untouched is not None and untouched.revoked_at is None
    async with uow(write=True) as tx:
        assert await tx.refresh_tokens.delete_expired(user_id, AT) == 2  # b and c ended at AT
        assert await tx.refresh_tokens.by_hash("a" * 64) is not None  # lives 30 days
        await tx.commit()


async def test_one_token_refreshed_twice_at_once_gives_one_new_token(
    uow: SqlUnitOfWorkFactory,
) -> None:
    """Two refreshes with the same token race: the row lock lets one rotate it; the other sees a
    rotated token (a replay) and ends the family."""
    sessions = RefreshSessions(lifetime_seconds=3600)
    issued = await sessions.start(uow, await new_user(uow))
    results = await asyncio.gather(
        *(sessions.rotate(uow, issued.token) for _ in range(2)), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["AuthenticationFailed", "tuple"]
    (winner,) = (r for r in results if isinstance(r, tuple))
    with pytest.raises(AuthenticationFailed):  # the replay revoked the family
        await sessions.rotate(uow, winner[1].token)


async def test_consents_and_phone_are_stored(uow: SqlUnitOfWorkFactory) -> None:
    user_id = await new_user(uow)
    given = [Consent(Document.PRIVACY, "2026-12-01", AT), Consent(Document.TERMS, "v2", AT)]
    async with uow(write=True) as tx:
        await tx.consents.add(user_id, given)
        await tx.commit()
    changed = await profile.update_profile(
        uow=uow, principal=customer(user_id), name=None, phone="+82 10-1234-5678"
    )
    assert changed.consents == given
    assert changed.user.phone == "+82 10-1234-5678"
    async with uow() as tx:
        assert await tx.consents.for_user(user_id + 1000) == []
        stored = await tx.refresh_tokens.by_hash(token_hash("nothing"))
        assert stored is None


async def test_the_migration_adds_an_empty_phone(database_url: str) -> None:
    """0005 with an account already there: it gets an empty phone."""
    async with MigrationStep(database_url, "0005") as step:
        await step.execute(
            "INSERT INTO users (email, password_hash, name, role, created_at, updated_at) "
            "VALUES ('old@example.com', 'x', 'Old', 'customer', :t, :t)",
            t=datetime(2026, 1, 1),
        )
        await step.apply()
        assert await step.rows("SELECT phone FROM users") == [("",)]
