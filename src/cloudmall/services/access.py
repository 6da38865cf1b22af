"""Each authenticated request is checked against the account as it is now, not as it was when
its token was issued: the user still exists, the token's version is the current one (a password
change raises it: older tokens get 401), and the role is the database's, not the token's claim
(a demoted staff member's next staff request gets 403), and an account that must still change
its initial password may do nothing else (403 `password_change_required`).

Where the accounts are (the monolith, the users service) `AccessCheck` reads them; the other
services of the services topology read what the users service published to the access board
(`BoardAccessCheck`). The answer is remembered per process for at most `ttl_seconds` (default
2 s, so a burst of requests costs one read) and forgotten at once when this process changes the
account; another process's change is seen within `ttl_seconds` (and, through the board, the
users service's publishing, about a second).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Generic, Protocol, TypeVar

from cloudmall.domain.errors import AuthenticationFailed, PasswordChangeRequired
from cloudmall.services.ports import (
    AccessBoard,
    AccessBoardUnavailable,
    AccountAccess,
    Metrics,
    Principal,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

MAX_TTL_SECONDS = 5.0

T = TypeVar("T")


class Access(Protocol):
    async def current(self, principal: Principal, *, changing_password: bool = False) -> Principal:
        """`principal` with the account's current role; AuthenticationFailed (401) if the
        account is gone or the token predates its last password change; PasswordChangeRequired
        (403) while the account has an initial password, unless `changing_password` it."""
        ...

    def forget(self, user_id: int) -> None:
        """This process changed the account: the next request reads it again."""
        ...


class _Memory(Generic[T]):
    """What was read per account, for at most `ttl_seconds`, the `remember` latest accounts."""

    def __init__(self, ttl_seconds: float, remember: int, clock: Callable[[], float]) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl_seconds must be 0 to {MAX_TTL_SECONDS:g}")
        self._ttl = ttl_seconds
        self._remember = remember
        self._clock = clock
        self._seen: OrderedDict[int, tuple[float, T]] = OrderedDict()

    async def get(self, user_id: int, read: Callable[[int], Awaitable[T]]) -> T:
        now = self._clock()
        seen = self._seen.get(user_id)
        if seen is not None and now - seen[0] < self._ttl:
            return seen[1]
        value = await read(user_id)
        if self._ttl > 0:
            self._seen[user_id] = (now, value)
            self._seen.move_to_end(user_id)
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return value

    def forget(self, user_id: int) -> None:
        self._seen.pop(user_id, None)


def _checked(principal: Principal, account: AccountAccess, *, changing_password: bool) -> Principal:
    """`principal` as the account's current access allows it (see Access.current)."""
    if account.role is None or account.token_version != principal.token_version:
        raise AuthenticationFailed("Your session has ended; please log in again")
    if account.must_change_password and not changing_password:
        raise PasswordChangeRequired("Change the initial password first")
    return principal if account.role is principal.role else replace(principal, role=account.role)


class AccessCheck:
    """The check where the accounts are: each account read from the users table."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        ttl_seconds: float = 2.0,
        remember: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._memory: _Memory[AccountAccess] = _Memory(ttl_seconds, remember, clock)

    async def current(self, principal: Principal, *, changing_password: bool = False) -> Principal:
        account = await self._memory.get(principal.user_id, self._read)
        return _checked(principal, account, changing_password=changing_password)

    def forget(self, user_id: int) -> None:
        self._memory.forget(user_id)

    async def _read(self, user_id: int) -> AccountAccess:
        async with self._uow() as tx:
            user = await tx.users.get(user_id)
        if user is None:
            return AccountAccess(-1, None)
        return AccountAccess(user.token_version, user.role, user.must_change_password)


class BoardAccessCheck:
    """The check of a service without the accounts (the services topology's products, orders
    and payments). The verifier checked the token's signature, issuer, audience and expiry; the
    users service publishes each account's access to the access board when it changes
    (services/access_board.py, from its outbox). So, as in the monolith: a token of an older
    version than the board's gets 401 (a password changed, reset or set by an operator), a gone
    account 401, the role is the board's (a demoted member of staff's next staff request gets
    403), and an account that must change its initial password 403 `password_change_required`.
    A change reaches these services within about a second (the users service's outbox reader)
    plus this memory's `ttl_seconds`. An account without an entry (no change for a token's
    lifetime), or whose token is newer than its entry (issued after a change the board has not
    been told yet), is what its token says.

    When the board does not answer, the token's claims are believed (fail-open), with a warning
    and the `access_board_unavailable` metric. Refusing instead would take every signed-in route
    of three services down with one Redis, where the topology is meant to keep each service
    standing on its own; what an outage lets through is bounded by a token's lifetime
    (CLOUDMALL_TOKEN_TTL_SECONDS, an hour by default), as this check was before the board; and
    a session whose password changed cannot be refreshed (the users service reads the
    accounts), so it ends with its access token."""

    def __init__(
        self,
        board: AccessBoard,
        metrics: Metrics,
        *,
        ttl_seconds: float = 2.0,
        remember: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._board = board
        self._metrics = metrics
        self._memory: _Memory[AccountAccess | None] = _Memory(ttl_seconds, remember, clock)

    async def current(self, principal: Principal, *, changing_password: bool = False) -> Principal:
        try:
            published = await self._memory.get(principal.user_id, self._board.look_up)
        except AccessBoardUnavailable as exc:
            # Not remembered: the board is asked again as soon as it may be back.
            log.warning("access board unavailable, the token's claims believed: %s", exc)
            self._metrics.access_board_unavailable()
            published = None
        if published is None or (
            not published.gone and principal.token_version > published.token_version
        ):
            published = AccountAccess(
                principal.token_version, principal.role, principal.must_change_password
            )
        return _checked(principal, published, changing_password=changing_password)

    def forget(self, user_id: int) -> None:
        self._memory.forget(user_id)
