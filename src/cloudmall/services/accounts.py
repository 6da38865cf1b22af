"""Sign-up, log-in and who-am-I."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cloudmall.domain import events
from cloudmall.domain.consents import Consent
from cloudmall.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from cloudmall.domain.users import Role, User, normalize_email, normalize_language
from cloudmall.services.password_policy import check_password, normalize_password
from cloudmall.services.ports import PasswordHasher, Principal, TokenIssuer, UnitOfWorkFactory
from cloudmall.services.rate_limit import Throttles
from cloudmall.services.request_context import current_request_id
from cloudmall.services.sessions import IssuedRefresh

MAX_NAME_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    access_token: str
    expires_in: int
    refresh: IssuedRefresh | None = None  # the session's refresh token, when one was started

    @property
    def password_change_required(self) -> bool:
        """Only the password change is open to this session (an initial password)."""
        return self.user.must_change_password


@dataclass(frozen=True, slots=True)
class AdminAccount:
    user: User
    created: bool  # False: an existing account was promoted, its password left as it was


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"Name must be 1 to {MAX_NAME_LENGTH} characters")
    return name


async def sign_up(
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    email: str,
    password: str,
    name: str,
    role: Role = Role.CUSTOMER,
    throttles: Throttles | None = None,
    client: str = "",
    consents: Sequence[Consent] = (),
    language: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an account with the `consents` it gave; `throttles` bounds sign-ups per client
    address; `language` is the one its mails are written in (default Korean)."""
    name = check_name(name)
    check_password(password, email=email)
    if throttles is not None:
        await throttles.signup(client=client)
    password_hash = await hasher.hash(normalize_password(password))
    async with uow(write=True) as tx:
        user = await tx.users.add(
            email=normalize_email(email),
            name=name,
            role=role,
            password_hash=password_hash,
            language=normalize_language(language),
            must_change_password=must_change_password,
        )
        await tx.consents.add(user.id, consents)
        await tx.outbox.add([events.user_signed_up(user, request_id=current_request_id.get())])
        await tx.commit()
    return user


async def log_in(
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    token_issuer: TokenIssuer,
    email: str,
    password: str,
    throttles: Throttles | None = None,
    client: str = "",
) -> Session:
    """Check the password; `throttles` bound failed attempts per account and per client (429)."""
    email = normalize_email(email)
    hits = await throttles.login_attempt(account=email, client=client) if throttles else []
    async with uow() as tx:
        user = await tx.users.get_by_email(email)
    # An unknown email is verified too (against a dummy hash): timing does not reveal accounts.
    verified = await verify_password(hasher, user.password_hash if user else None, password)
    if user is None or not verified:
        raise AuthenticationFailed("Wrong email or password")
    if throttles is not None:
        await throttles.login_succeeded(hits)
    token, expires_in = token_issuer.issue(user)
    return Session(user=user, access_token=token, expires_in=expires_in)


async def verify_password(hasher: PasswordHasher, password_hash: str | None, password: str) -> bool:
    """Passwords are hashed NFKC-normalised; one set before that may be stored as typed."""
    normalized = normalize_password(password)
    if await hasher.verify(password_hash, normalized):
        return True
    return normalized != password and await hasher.verify(password_hash, password)


async def current_user(*, uow: UnitOfWorkFactory, principal: Principal) -> User:
    async with uow() as tx:
        user = await tx.users.get(principal.user_id)
    if user is None:
        raise NotFound("This account no longer exists")
    return user


async def make_admin(
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    email: str,
    password: str,
    name: str,
    temporary: bool = False,
) -> AdminAccount:
    """Create an admin account, or promote the existing account with that email (its password
    stays). A `temporary` password (one the shop made up and printed) must be changed at the
    first log-in."""
    async with uow(write=True) as tx:
        existing = await tx.users.get_by_email(normalize_email(email))
        if existing is not None:
            await tx.users.change_credentials(existing.id, role=Role.ADMIN)
            promotion = events.user_access_changed(
                existing.id, "role", request_id=current_request_id.get()
            )
            await tx.outbox.add([promotion])
            await tx.commit()
            promoted = await tx.users.get(existing.id)
            assert promoted is not None
            return AdminAccount(promoted, created=False)
    user = await sign_up(
        uow=uow,
        hasher=hasher,
        email=email,
        password=password,
        name=name,
        role=Role.ADMIN,
        must_change_password=temporary,
    )
    return AdminAccount(user, created=True)
