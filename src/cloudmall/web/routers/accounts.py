"""Accounts: sign up, log in, who am I."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request

from cloudmall.services import commands as c
from cloudmall.services.accounts import Session
from cloudmall.web.deps import PrincipalDep, SettingsDep, ShopDep
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    LogInIn,
    SignUpIn,
    TokenOut,
    UserOut,
    error_responses,
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


def token_out(session: Session) -> TokenOut:
    return TokenOut(
        access_token=session.access_token,
        expires_in=session.expires_in,
        user=UserOut.of(session.user),
    )


@router.post("/signup", status_code=201, response_model=TokenOut, responses=BODY_ERRORS)
async def sign_up(
    body: SignUpIn, request: Request, shop: ShopDep, settings: SettingsDep
) -> TokenOut:
    """Create a customer account and log it in (a limited number per client address: 429)."""
    client = client_address(request, settings.client_address_header)
    return token_out(await shop.handle(c.SignUp(str(body.email), body.password, body.name, client)))


@router.post("/login", response_model=TokenOut, responses=BODY_ERRORS)
async def log_in(body: LogInIn, request: Request, shop: ShopDep, settings: SettingsDep) -> TokenOut:
    """Log in. Failed attempts are limited per account and per client address (429, Retry-After)."""
    client = client_address(request, settings.client_address_header)
    return token_out(await shop.handle(c.LogIn(body.email, body.password, client)))


@router.get("/me", response_model=UserOut, responses=ERRORS)
async def who_am_i(shop: ShopDep, principal: PrincipalDep) -> UserOut:
    return UserOut.of(await shop.handle(c.CurrentUser(principal)))
