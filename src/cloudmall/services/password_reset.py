"""Forgotten passwords: a reset link by mail, and a new password through it.

The request records an event carrying the account's id alone (`user.password_reset_requested`);
the mail reader mints the link when it sends the mail, so the token never lands in the outbox,
the lake or a log. The token is signed, expires, and is bound to the account's token version:
setting the new password raises the version, so the link works once, and any other password
change kills it too. The reset also ends every session (older access tokens carry the old
version) and clears an initial password's must-change flag.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cloudmall.domain import events
from cloudmall.domain.errors import ResetLinkInvalid, ResetLinkUsed
from cloudmall.domain.users import User, normalize_email
from cloudmall.services.access import Access
from cloudmall.services.password_policy import check_password, normalize_password
from cloudmall.services.ports import PasswordHasher, PasswordResetTokens, UnitOfWorkFactory
from cloudmall.services.rate_limit import Throttles
from cloudmall.services.request_context import current_request_id


async def request_reset(
    *, uow: UnitOfWorkFactory, throttles: Throttles, email: str, client: str
) -> None:
    """Ask for a reset mail. Answers the same whether or not the account exists (429 only past
    the client address's limit); past the account's limit nothing is sent."""
    email = normalize_email(email)
    if not await throttles.password_reset(account=email, client=client):
        return
    async with uow(write=True) as tx:
        user = await tx.users.get_by_email(email)
        if user is not None:
            event = events.password_reset_requested(user.id, request_id=current_request_id.get())
            await tx.outbox.add([event])
        await tx.commit()


async def reset_password(
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    access: Access,
    reset_tokens: PasswordResetTokens,
    token: str,
    new_password: str,
) -> User:
    """Set a new password through a reset link; every session of the account ends.
    ResetLinkInvalid (forged), ResetLinkExpired, or
    ResetLinkUsed (the password changed since the link was made: by this link or otherwise)."""
    user_id, version = reset_tokens.read(token)
    async with uow() as tx:
        user = await tx.users.get(user_id)
    if user is None:
        raise ResetLinkInvalid("This password reset link is not valid")
    if user.token_version != version:
        raise ResetLinkUsed("This password reset link has been used already")
    check_password(new_password, email=user.email)
    password_hash = await hasher.hash(normalize_password(new_password))
    async with uow(write=True) as tx:
        # Only if the version is still the link's: two uses of one link cannot both succeed.
        changed = await tx.users.change_credentials(
            user_id, password_hash=password_hash, if_token_version=version
        )
        if not changed:
            raise ResetLinkUsed("This password reset link has been used already")
        # Whoever held a session (maybe who learned the old password) is out, on every device.
        await tx.refresh_tokens.revoke_user(user_id, datetime.now(UTC))
        event = events.user_access_changed(user_id, "password", request_id=current_request_id.get())
        await tx.outbox.add([event])
        await tx.commit()
        reset = await tx.users.get(user_id)
    access.forget(user_id)
    assert reset is not None
    return reset
