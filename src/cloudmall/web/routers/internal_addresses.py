"""The users service's saved addresses for the orders service (ports.AddressBook over HTTP)."""

from __future__ import annotations

from typing import cast

from cloudmall.services.ports import AddressBook
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import AddressOut, SavedAddressIn, SavedAddressOut
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/addresses", "internal")


@router.post("/{address_id}/saved", response_model=SavedAddressOut)
async def saved(address_id: int, body: SavedAddressIn, shop: ShopDep) -> SavedAddressOut:
    # This context's own address book (the in-process one: the users service owns it).
    found = await cast(AddressBook, shop.tiers["address_book"]).saved(body.user_id, address_id)
    return SavedAddressOut(address=None if found is None else AddressOut.model_validate(found))
