"""A customer's own profile: name and phone (email and password have their own routes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cloudmall.domain.consents import Consent
from cloudmall.domain.errors import InvalidInput, NotFound
from cloudmall.domain.users import User
from cloudmall.services.accounts import check_name
from cloudmall.services.ports import Principal, UnitOfWorkFactory

#: Digits with optional spaces, hyphens and a leading +: 010-1234-5678, +82 10 1234 5678.
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,30}[0-9]$")
MAX_PHONE_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Profile:
    user: User
    consents: list[Consent]


def normalize_phone(phone: str) -> str:
    """The phone as typed, trimmed; empty clears it. InvalidInput if it is not a phone number."""
    phone = phone.strip()
    if phone and (len(phone) > MAX_PHONE_LENGTH or not PHONE.fullmatch(phone)):
        raise InvalidInput("A phone number has digits, spaces, hyphens and may start with +")
    return phone


async def get_profile(*, uow: UnitOfWorkFactory, principal: Principal) -> Profile:
    async with uow() as tx:
        user = await tx.users.get(principal.user_id)
        if user is None:
            raise NotFound("This account no longer exists")
        return Profile(user, await tx.consents.for_user(user.id))


async def update_profile(
    *, uow: UnitOfWorkFactory, principal: Principal, name: str | None, phone: str | None
) -> Profile:
    """Change the fields given (None leaves one as it is)."""
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = check_name(name)
    if phone is not None:
        changes["phone"] = normalize_phone(phone)
    if changes:
        async with uow(write=True) as tx:
            if await tx.users.get(principal.user_id) is None:
                raise NotFound("This account no longer exists")
            await tx.users.update(principal.user_id, changes)
            await tx.commit()
    return await get_profile(uow=uow, principal=principal)
