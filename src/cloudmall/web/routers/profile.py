"""The signed-in customer's own profile: name and phone."""

from __future__ import annotations

from fastapi import APIRouter

from cloudmall.services.commands import GetProfile, UpdateProfile
from cloudmall.web.deps import PrincipalDep, ShopDep
from cloudmall.web.schemas import UNREADABLE_BODY, ProfileOut, ProfilePatch, error_responses

router = APIRouter(prefix="/api/account", tags=["accounts"])
ERRORS = error_responses(401, 404, 422)


@router.get("/profile", response_model=ProfileOut, responses=ERRORS)
async def get_profile(shop: ShopDep, principal: PrincipalDep) -> ProfileOut:
    """Your name, phone, email and the documents you agreed to (with versions and times)."""
    return ProfileOut.of(await shop.handle(GetProfile(principal)))


@router.patch("/profile", response_model=ProfileOut, responses={**ERRORS, **UNREADABLE_BODY})
async def update_profile(body: ProfilePatch, shop: ShopDep, principal: PrincipalDep) -> ProfileOut:
    """Change your name and/or phone (`"phone": ""` clears it)."""
    return ProfileOut.of(await shop.handle(UpdateProfile(principal, body.name, body.phone)))
