"""Accounts: sign up, log in, refresh the session, log out, who am I, and a forgotten password
reset by mail."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Request, Response

from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.services import commands as c
from cloudmall.services.accounts import Session
from cloudmall.services.sessions import ENDED
from cloudmall.web.deps import PrincipalDep, SettingsDep, ShopDep
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    AcceptedOut,
    LogInIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    SignUpIn,
    TokenOut,
    UserOut,
    error_responses,
)
from cloudmall.web.session_cookie import (
    LOGOUT_PATH,
    REFRESH_COOKIE,
    REFRESH_PATH,
    clear_refresh_cookie,
    set_refresh_cookie,
)

router = APIRouter(prefix="/api/auth", tags=["accounts"])
ERRORS = error_responses(401, 404, 409, 422, 429)
BODY_ERRORS = {**ERRORS, **UNREADABLE_BODY}


def client_address(request: Request, header: str | None = None) -> str:
    """The caller's address: from ``header`` (``CLOUDMALL_CLIENT_ADDRESS_HEADER``, e.g.
    CloudFront-Viewer-Address ``ip:port``) when it is set and holds an address; else the one
    uvicorn puts here, X-Forwarded-For's client when it trusts the proxy (`FORWARDED_ALLOW_IPS`,
    127.0.0.1 by default: nginx; on AWS, the VPC)."""
    if header and (value := request.headers.get(header)):
        for candidate in (value.rsplit(":", 1)[0], value):  # "ip:port", else a bare address
            try:
                return str(ipaddress.ip_address(candidate.strip("[]")))
            except ValueError:
                continue
    return request.client.host if request.client else "unknown"


async def get_client(request: Request, settings: SettingsDep) -> str:
    return client_address(request, settings.client_address_header)


ClientDep = Annotated[str, Depends(get_client)]
RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE, include_in_schema=False)]


def token_out(session: Session, response: Response) -> TokenOut:
    """The answer's body, and the session's refresh cookie on `response`."""
    set_refresh_cookie(response, session.refresh)
    return TokenOut(
        access_token=session.access_token,
        expires_in=session.expires_in,
        user=UserOut.of(session.user),
        password_change_required=session.password_change_required,
    )


@router.post("/signup", status_code=201, response_model=TokenOut, responses=BODY_ERRORS)
async def sign_up(body: SignUpIn, client: ClientDep, shop: ShopDep, response: Response) -> TokenOut:
    """Create a customer account and log it in (a limited number per client address: 429).
    Without consent to both the privacy policy and the terms of use: 422 `consent_required`."""
    command = c.SignUp(
        str(body.email), body.password, body.name, client, body.agreed(), body.language
    )
    return token_out(await shop.handle(command), response)


@router.post("/login", response_model=TokenOut, responses=BODY_ERRORS)
async def log_in(body: LogInIn, client: ClientDep, shop: ShopDep, response: Response) -> TokenOut:
    """Log in. Failed attempts are limited per account and per client address (429, Retry-After).
    The session's refresh token comes as an HttpOnly cookie for `POST /api/auth/refresh`.
    `password_change_required`: the account has an initial password; every other call answers
    403 `password_change_required` until `POST /api/auth/password` changes it."""
    return token_out(await shop.handle(c.LogIn(body.email, body.password, client)), response)


@router.post(REFRESH_PATH.removeprefix("/api/auth"), response_model=TokenOut, responses=ERRORS)
async def refresh(shop: ShopDep, response: Response, cookie: RefreshCookie = None) -> TokenOut:
    """A new access token for the session's refresh cookie, which is rotated: the cookie sent
    stops working. 401 when the session has ended; a cookie that was already rotated ends its
    whole session (someone else holds a copy)."""
    if not cookie:
        raise AuthenticationFailed(ENDED)
    return token_out(await shop.handle(c.RefreshSession(cookie)), response)


@router.post(LOGOUT_PATH.removeprefix("/api/auth"), status_code=204, responses=ERRORS)
async def log_out(shop: ShopDep, response: Response, cookie: RefreshCookie = None) -> None:
    """End this device's session (its refresh cookie stops working) and clear the cookie.
    Access tokens already issued run out on their own (one hour at most)."""
    if cookie:
        await shop.handle(c.LogOut(cookie))
    clear_refresh_cookie(response)


@router.get("/me", response_model=UserOut, responses=ERRORS)
async def who_am_i(shop: ShopDep, principal: PrincipalDep) -> UserOut:
    return UserOut.of(await shop.handle(c.CurrentUser(principal)))


@router.post("/password-reset", status_code=202, response_model=AcceptedOut, responses=BODY_ERRORS)
async def request_password_reset(
    body: PasswordResetIn, client: ClientDep, shop: ShopDep
) -> AcceptedOut:
    """Mail a password-reset link to the account with this email. The answer is 202 whether or
    not there is one (it tells nobody who has an account); 429 past a number per client
    address. The link works once, for CLOUDMALL_PASSWORD_RESET_TTL_SECONDS."""
    await shop.handle(c.RequestPasswordReset(body.email, client))
    return AcceptedOut()


@router.post("/password-reset/confirm", response_model=TokenOut, responses=BODY_ERRORS)
async def confirm_password_reset(
    body: PasswordResetConfirmIn, shop: ShopDep, response: Response
) -> TokenOut:
    """Set a new password with the token from a reset link (the password policy applies: 422
    `password_rejected`). A forged token is 422 `reset_link_invalid`, an expired one
    `reset_link_expired`, a used one (the password changed since) `reset_link_used`. Every
    session of the account ends; the answer logs it in."""
    return token_out(await shop.handle(c.ResetPassword(body.token, body.new_password)), response)
