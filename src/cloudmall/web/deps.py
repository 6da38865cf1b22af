"""FastAPI dependencies: the shop, its settings, and who is calling.

All are `async def`: FastAPI runs plain `def` dependencies in a thread pool, which costs more than
the work they do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloudmall.config import Settings
from cloudmall.domain.errors import AuthenticationFailed, PermissionDenied
from cloudmall.services.commands import Authenticate
from cloudmall.services.ports import Principal
from cloudmall.services.shop import Shop

_bearer = HTTPBearer(auto_error=False, description="The access token from /api/auth/login")


async def get_shop(request: Request) -> Shop:
    shop: Shop = request.app.state.shop
    return shop


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, changing_password: bool
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Log in first: send 'Authorization: Bearer <token>'")
    shop: Shop = request.app.state.shop
    return await shop.handle(Authenticate(credentials.credentials, changing_password))


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; 403 `password_change_required` while its account has an initial password."""
    return await _authenticate(request, credentials, changing_password=False)


async def caller(request: Request) -> Principal:
    """get_principal outside FastAPI's dependency solving (web.order_path): the same scheme
    parsing and account check."""
    return await get_principal(request, await _bearer(request))


async def get_principal_changing_password(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of the password change: the one call an initial password is allowed."""
    return await _authenticate(request, credentials, changing_password=True)


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise PermissionDenied("Only shop staff can do this")
    return principal


ShopDep = Annotated[Shop, Depends(get_shop)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ChangingPasswordDep = Annotated[Principal, Depends(get_principal_changing_password)]
AdminDep = Annotated[Principal, Depends(get_admin)]
