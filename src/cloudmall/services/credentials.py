"""Changing what an account can do or proves itself with: its role, its password.

Both apply to the very next request (services/access.py checks each one against the account):
a new role because the role is read from the account, not the token; a new password because it
raises the account's token version, so every token issued before stops working, and revokes every
refresh session of the account in the same transaction (the caller gets a fresh one). Each change
records `user.access_changed` in that transaction: the services that hold no accounts learn it
from there (services/access_board.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from cloudmall.domain import events
from cloudmall.domain.errors import NotFound, PermissionDenied
from cloudmall.domain.users import Role, User, normalize_email
from cloudmall.services.access import Access
from cloudmall.services.accounts import verify_password
from cloudmall.services.idempotency import with_retries
from cloudmall.services.password_policy import check_password, normalize_password
from cloudmall.services.ports import PasswordHasher, UnitOfWorkFactory
from cloudmall.services.rate_limit import Throttles
from cloudmall.services.request_context import current_request_id


async def change_password(
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    access: Access,
    user_id: int,
    current_password: str,
    new_password: str,
    throttles: Throttles | None = None,
    client: str = "",
) -> User:
    """Replace the password after checking the current one (a wrong one counts as a failed
    log-in, so this is no side door for guessing)."""
    async with uow() as tx:
        user = await tx.users.get(user_id)
    if user is None:
        raise NotFound("This account no longer exists")
    check_password(new_password, email=user.email)
    hits = await throttles.login_attempt(account=user.email, client=client) if throttles else []
    if not await verify_password(hasher, user.password_hash, current_password):
        raise PermissionDenied("The current password is not right")
    if throttles is not None:
        await throttles.login_succeeded(hits)
    return await _change(
        uow, access, user_id, password_hash=await hasher.hash(normalize_password(new_password))
    )


async def set_initial_password(
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    access: Access,
    email: str,
    password: str,
) -> User:
    """An operator's new one-time password for an account (`cloudmall admin reset-password`):
    every session ends, and the password must be changed at the next log-in."""
    async with uow() as tx:
        user = await tx.users.get_by_email(normalize_email(email))
    if user is None:
        raise NotFound(f"No account with the email {email}")
    return await _change(
        uow,
        access,
        user.id,
        password_hash=await hasher.hash(normalize_password(password)),
        must_change_password=True,
    )


async def change_role(*, uow: UnitOfWorkFactory, access: Access, user_id: int, role: Role) -> User:
    return await _change(uow, access, user_id, role=role)


async def change_role_by_email(
    *, uow: UnitOfWorkFactory, access: Access, email: str, role: Role
) -> User:
    async with uow() as tx:
        user = await tx.users.get_by_email(normalize_email(email))
    if user is None:
        raise NotFound(f"No account with the email {email}")
    return await change_role(uow=uow, access=access, user_id=user.id, role=role)


async def _change(
    uow: UnitOfWorkFactory,
    access: Access,
    user_id: int,
    *,
    role: Role | None = None,
    password_hash: str | None = None,
    must_change_password: bool = False,
) -> User:
    async def attempt() -> User:
        async with uow(write=True) as tx:
            found = await tx.users.change_credentials(
                user_id,
                role=role,
                password_hash=password_hash,
                must_change_password=must_change_password,
            )
            if not found:
                raise NotFound("This account no longer exists")
            if password_hash is not None:
                await tx.refresh_tokens.revoke_user(user_id, datetime.now(UTC))
            change = "password" if password_hash is not None else "role"
            request_id = current_request_id.get()
            await tx.outbox.add(
                [events.user_access_changed(user_id, change, request_id=request_id)]
            )
            await tx.commit()
            changed = await tx.users.get(user_id)
        assert changed is not None
        return changed

    # Again if a session of the account changed meanwhile (DynamoDB refuses the revocation).
    changed = await with_retries(attempt)
    access.forget(user_id)
    return changed
