"""Customers' address books over one AsyncConnection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import addresses, utcnow
from cloudmall.domain.delivery import Address, SavedAddress


def _saved(row: Row[Any]) -> SavedAddress:
    return SavedAddress(
        id=row.id,
        user_id=row.user_id,
        address=Address(
            recipient=row.recipient,
            phone=row.phone,
            postal_code=row.postal_code,
            address1=row.address1,
            address2=row.address2,
        ),
        is_default=bool(row.is_default),
    )


class SqlAddressRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def list_for_user(self, user_id: int) -> list[SavedAddress]:
        rows = await self._conn.execute(
            select(addresses)
            .where(addresses.c.user_id == user_id)
            .order_by(addresses.c.is_default.desc(), addresses.c.id.desc())
        )
        return [_saved(row) for row in rows]

    async def get(self, user_id: int, address_id: int) -> SavedAddress | None:
        row = (
            await self._conn.execute(
                select(addresses).where(
                    addresses.c.id == address_id, addresses.c.user_id == user_id
                )
            )
        ).first()
        return _saved(row) if row else None

    async def _clear_default(self, user_id: int) -> None:
        await self._conn.execute(
            update(addresses)
            .where(addresses.c.user_id == user_id, addresses.c.is_default.is_(True))
            .values(is_default=False)
        )

    async def add(self, user_id: int, address: Address, *, make_default: bool) -> SavedAddress:
        if make_default:
            await self._clear_default(user_id)
        result = await self._conn.execute(
            addresses.insert().values(
                user_id=user_id,
                recipient=address.recipient,
                phone=address.phone,
                postal_code=address.postal_code,
                address1=address.address1,
                address2=address.address2,
                is_default=make_default,
                created_at=utcnow(),
            )
        )
        address_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return SavedAddress(address_id, user_id, address, make_default)

    async def delete(self, user_id: int, address_id: int) -> bool:
        result = await self._conn.execute(
            addresses.delete().where(addresses.c.id == address_id, addresses.c.user_id == user_id)
        )
        return result.rowcount == 1

    async def set_default(self, user_id: int, address_id: int) -> bool:
        if await self.get(user_id, address_id) is None:
            return False
        await self._clear_default(user_id)
        await self._conn.execute(
            update(addresses).where(addresses.c.id == address_id).values(is_default=True)
        )
        return True
