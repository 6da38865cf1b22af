"""The signed-in customer's address book (배송지 관리)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from cloudmall.services import commands as c
from cloudmall.web.deps import PrincipalDep, ShopDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.schemas import UNREADABLE_BODY, NewAddressIn, SavedAddressOut, error_responses

router = APIRouter(prefix="/api/account/addresses", tags=["accounts"])
ERRORS = error_responses(401, 404, 409, 422)
AddressId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=list[SavedAddressOut], responses=ERRORS)
async def list_addresses(shop: ShopDep, principal: PrincipalDep) -> list[SavedAddressOut]:
    """Your addresses, the default one first."""
    found = await shop.handle(c.ListAddresses(principal))
    return [SavedAddressOut.saved(saved) for saved in found]


@router.post(
    "", status_code=201, response_model=SavedAddressOut, responses={**ERRORS, **UNREADABLE_BODY}
)
async def add_address(
    body: NewAddressIn, shop: ShopDep, principal: PrincipalDep
) -> SavedAddressOut:
    """Add an address (at most 20); `makeDefault` makes it the default (the first one is)."""
    added = await shop.handle(c.AddAddress(principal, body.address(), body.make_default))
    return SavedAddressOut.saved(added)


@router.delete("/{address_id}", status_code=204, responses=ERRORS)
async def delete_address(address_id: AddressId, shop: ShopDep, principal: PrincipalDep) -> None:
    """Delete an address; orders sent to it keep their own copy."""
    await shop.handle(c.DeleteAddress(principal, address_id))


@router.put("/{address_id}/default", response_model=SavedAddressOut, responses=ERRORS)
async def make_default(
    address_id: AddressId, shop: ShopDep, principal: PrincipalDep
) -> SavedAddressOut:
    """Make the address your default one (checkout fills it in)."""
    return SavedAddressOut.saved(await shop.handle(c.MakeDefaultAddress(principal, address_id)))
