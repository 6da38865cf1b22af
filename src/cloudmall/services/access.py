"""Each authenticated request is checked against the account as it is now, not as it was when
its token was issued: the user still exists, the token's version is the current one (a password
change raises it: older tokens get 401), and the role is the database's, not the token's claim
(a demoted staff member's next staff request gets 403), and an account that must still change
its initial password may do nothing else (403 `password_change_required`).

The answer is remembered per process for at most `ttl_seconds` (default 2 s, so a burst of
requests costs one read) and forgotten at once when this process changes the account; another
process's change is seen within `ttl_seconds`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from cloudmall.domain.errors import AuthenticationFailed, PasswordChangeRequired
from cloudmall.domain.users import Role
from cloudmall.services.ports import Principal, UnitOfWorkFactory

MAX_TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Seen:
    at: float
    role: Role | None  # None: no such account
    token_version: int
    must_change_password: bool = False


class AccessCheck:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        ttl_seconds: float = 2.0,
        remember: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl_seconds must be 0 to {MAX_TTL_SECONDS:g}")
        self._uow = uow
        self._ttl = ttl_seconds
        self._remember = remember
        self._clock = clock
        self._seen: OrderedDict[int, _Seen] = OrderedDict()

    async def current(self, principal: Principal, *, changing_password: bool = False) -> Principal:
        """`principal` with the account's current role; AuthenticationFailed (401) if the account
        is gone or the token predates its last role or password change; PasswordChangeRequired
        (403) while the account has an initial password, unless `changing_password` it."""
        seen = await self._look_up(principal.user_id)
        if seen.role is None or seen.token_version != principal.token_version:
            raise AuthenticationFailed("Your session has ended; please log in again")
        if seen.must_change_password and not changing_password:
            raise PasswordChangeRequired("Change the initial password first")
        return principal if seen.role is principal.role else replace(principal, role=seen.role)

    def forget(self, user_id: int) -> None:
        """This process changed the account: the next request reads it again."""
        self._seen.pop(user_id, None)

    async def _look_up(self, user_id: int) -> _Seen:
        now = self._clock()
        seen = self._seen.get(user_id)
        if seen is not None and now - seen.at < self._ttl:
            return seen
        async with self._uow() as tx:
            user = await tx.users.get(user_id)
        seen = (
            _Seen(now, user.role, user.token_version, user.must_change_password)
            if user
            else _Seen(now, None, -1)
        )
        if self._ttl > 0:
            self._seen[user_id] = seen
            self._seen.move_to_end(user_id)
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return seen


class TokenClaimsAccess(AccessCheck):
    """The check of a service without the users context's tables (the services topology): the
    token's signature, issuer, audience and expiry were checked by the verifier, and its claims
    are believed as they are: its role, and whether the account still had its initial password
    (then 403 `password_change_required`, as the users service answers; the changed password's
    new token no longer says so). So a role change or a password change reaches these services
    only when the caller's token expires (CLOUDMALL_TOKEN_TTL_SECONDS); the users service, which
    holds the accounts, still checks each of its requests against them."""

    async def current(self, principal: Principal, *, changing_password: bool = False) -> Principal:
        if principal.must_change_password and not changing_password:
            raise PasswordChangeRequired("Change the initial password first")
        return principal

    def forget(self, user_id: int) -> None:
        """Nothing is remembered here."""
