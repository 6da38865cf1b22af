"""Delivery: customers' address books, and what an order will cost before it is placed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cloudmall.domain.delivery import Address, Quote, SavedAddress, check_address, quote
from cloudmall.domain.errors import Conflict, NotFound
from cloudmall.domain.money import to_money
from cloudmall.domain.orders import merge_items
from cloudmall.services.orders import OrderLimits
from cloudmall.services.ports import AddressBook, PriceList, Principal, UnitOfWorkFactory

#: Addresses one account keeps.
MAX_ADDRESSES = 20


async def list_addresses(*, uow: UnitOfWorkFactory, principal: Principal) -> list[SavedAddress]:
    async with uow() as tx:
        return await tx.addresses.list_for_user(principal.user_id)


async def add_address(
    *, uow: UnitOfWorkFactory, principal: Principal, address: Address, make_default: bool
) -> SavedAddress:
    """Add an address to the caller's book; the first one is the default whatever is asked."""
    address = check_address(address)
    async with uow(write=True) as tx:
        saved = await tx.addresses.list_for_user(principal.user_id)
        if len(saved) >= MAX_ADDRESSES:
            raise Conflict(f"An address book holds at most {MAX_ADDRESSES} addresses")
        added = await tx.addresses.add(
            principal.user_id, address, make_default=make_default or not saved
        )
        await tx.commit()
        return added


async def delete_address(*, uow: UnitOfWorkFactory, principal: Principal, address_id: int) -> None:
    """Delete one of the caller's addresses; if it was the default, the newest left becomes it.

    Orders sent to it keep their own copy."""
    async with uow(write=True) as tx:
        found = await tx.addresses.get(principal.user_id, address_id)
        if found is None or not await tx.addresses.delete(principal.user_id, address_id):
            raise NotFound(f"Address {address_id} does not exist")
        if found.is_default and (left := await tx.addresses.list_for_user(principal.user_id)):
            await tx.addresses.set_default(principal.user_id, left[0].id)
        await tx.commit()


async def make_default(
    *, uow: UnitOfWorkFactory, principal: Principal, address_id: int
) -> SavedAddress:
    async with uow(write=True) as tx:
        if not await tx.addresses.set_default(principal.user_id, address_id):
            raise NotFound(f"Address {address_id} does not exist")
        found = await tx.addresses.get(principal.user_id, address_id)
        assert found is not None
        await tx.commit()
        return found


async def saved_address(
    *, addresses: AddressBook, principal: Principal, address_id: int
) -> Address:
    """One of the caller's addresses, to copy into an order (asked of the users context, whose
    tables may be in another service's database)."""
    found = await addresses.saved(principal.user_id, address_id)
    if found is None:
        raise NotFound(f"Address {address_id} does not exist")
    return found


async def quote_items(
    *, prices: PriceList, items: Sequence[tuple[int, int]], limits: OrderLimits
) -> Quote:
    """What the items cost at today's prices (the products context's: asked, since its tables
    may be in another service's database), with the delivery fee the order would add."""
    quantities = merge_items(items, max_lines=limits.max_lines, max_quantity=limits.max_quantity)
    found = await prices.prices(set(quantities))
    for product_id in sorted(quantities):
        if product_id not in found:
            raise NotFound(f"Product {product_id} does not exist")
    subtotal = to_money(
        sum((found[product_id] * units for product_id, units in quantities.items()), Decimal(0))
    )
    return quote(subtotal, limits.fees)
