"""Changing a password (the account itself) and a role (staff): older tokens stop at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from cloudmall.domain.users import Role
from cloudmall.services import credentials
from cloudmall.web.deps import AdminDep, ContainerDep, PrincipalDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.routers.accounts import client_address
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    ChangePasswordIn,
    RoleIn,
    TokenOut,
    UserOut,
    error_responses,
)

router = APIRouter(tags=["accounts"])
ERRORS = {**error_responses(401, 403, 404, 422, 429), **UNREADABLE_BODY}


@router.post("/api/auth/password", response_model=TokenOut, responses=ERRORS)
async def change_password(
    body: ChangePasswordIn, request: Request, container: ContainerDep, principal: PrincipalDep
) -> TokenOut:
    """Change your password (403 if the current one is wrong). Every token issued before,
    on any device, stops working; the answer carries a new one."""
    user = await credentials.change_password(
        uow=container.uow,
        hasher=container.hasher,
        access=container.access,
        user_id=principal.user_id,
        current_password=body.current_password,
        new_password=body.new_password,
        throttles=container.throttles,
        client=client_address(request, container.settings.client_address_header),
    )
    token, expires_in = container.tokens.issue(user)
    return TokenOut(access_token=token, expires_in=expires_in, user=UserOut.of(user))


@router.put("/api/admin/users/{user_id}/role", response_model=UserOut, responses=ERRORS)
async def change_role(
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: RoleIn,
    container: ContainerDep,
    _: AdminDep,
) -> UserOut:
    """Make an account staff or customer (staff only); it applies to the account's next request."""
    user = await credentials.change_role(
        uow=container.uow, access=container.access, user_id=user_id, role=Role(body.role)
    )
    return UserOut.of(user)
