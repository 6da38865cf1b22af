"""Changing a password (the account itself) and a role (staff): older tokens stop at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from cloudmall.domain.users import Role
from cloudmall.services.commands import ChangePassword, ChangeRole
from cloudmall.web.deps import AdminDep, ChangingPasswordDep, ShopDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.routers.accounts import ClientDep, token_out
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
    body: ChangePasswordIn,
    client: ClientDep,
    shop: ShopDep,
    principal: ChangingPasswordDep,
    response: Response,
) -> TokenOut:
    """Change your password (403 if the current one is wrong). Every token and session issued
    before, on any device, stops working; the answer carries a new one (and a new session). The
    one call an account with an initial password (`password_change_required`) may make."""
    change = ChangePassword(principal, body.current_password, body.new_password, client)
    return token_out(await shop.handle(change), response)


@router.put("/api/admin/users/{user_id}/role", response_model=UserOut, responses=ERRORS)
async def change_role(
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: RoleIn, shop: ShopDep, _: AdminDep
) -> UserOut:
    """Make an account staff or customer (staff only); it applies to the account's next request."""
    return UserOut.of(await shop.handle(ChangeRole(user_id, Role(body.role))))
