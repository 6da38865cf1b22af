"""The users context's AddressBook in the same process (the monolith, and the users service
answering its internal route)."""

from __future__ import annotations

from cloudmall.domain.delivery import Address
from cloudmall.services.ports import UnitOfWorkFactory


class LocalAddressBook:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def saved(self, user_id: int, address_id: int) -> Address | None:
        async with self._uow() as tx:
            found = await tx.addresses.get(user_id, address_id)
        return None if found is None else found.address
