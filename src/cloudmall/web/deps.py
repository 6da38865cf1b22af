"""FastAPI dependencies: the container, and who is calling.

All are `async def`: FastAPI runs plain `def` dependencies in a thread pool, which costs more than
the work they do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloudmall.bootstrap import Container
from cloudmall.domain.errors import AuthenticationFailed, PermissionDenied
from cloudmall.services.ports import Principal

_bearer = HTTPBearer(auto_error=False, description="The access token from /api/auth/login")


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Log in first: send 'Authorization: Bearer <token>'")
    container: Container = request.app.state.container
    claimed = container.tokens.decode(credentials.credentials)
    return await container.access.current(claimed)  # the account as it is now


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise PermissionDenied("Only shop staff can do this")
    return principal


ContainerDep = Annotated[Container, Depends(get_container)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]
