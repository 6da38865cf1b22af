"""Address books as items in their account's partition: one consistent Query lists a user's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import ADDRESS, address_key, timestamp, user_key
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.delivery import Address, SavedAddress
from cloudmall.services.ports import RetryableConflict

_FIELDS = ("recipient", "phone", "postal_code", "address1", "address2")
_EXISTS = "attribute_exists(#PK)"


def _saved(item: dict[str, Any]) -> SavedAddress:
    return SavedAddress(
        id=int(item["id"]),
        user_id=int(item["user_id"]),
        address=Address(**{field: item[field] for field in _FIELDS}),
        is_default=bool(item["is_default"]),
    )


def _changed() -> Exception:
    return RetryableConflict("the address book changed meanwhile")


class DynamoAddressRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def _items(self, user_id: int) -> list[dict[str, Any]]:
        return await self._tx.query(user_key(user_id)[0], prefix=ADDRESS)

    async def list_for_user(self, user_id: int) -> list[SavedAddress]:
        saved = [_saved(item) for item in await self._items(user_id)]
        return sorted(saved, key=lambda a: (not a.is_default, -a.id))

    async def get(self, user_id: int, address_id: int) -> SavedAddress | None:
        item = await self._tx.get(address_key(user_id, address_id))
        return _saved(item) if item else None

    def _mark(self, item: dict[str, Any], is_default: bool) -> None:
        self._tx.update(
            (item["PK"], item["SK"]),
            set_={"is_default": is_default},
            condition=_EXISTS,
            after={**item, "is_default": is_default},
            refused=_changed,
        )

    async def _clear_default(self, user_id: int, keep: int | None = None) -> None:
        for item in await self._items(user_id):
            if item["is_default"] and int(item["id"]) != keep:
                self._mark(item, False)

    async def add(self, user_id: int, address: Address, *, make_default: bool) -> SavedAddress:
        if make_default:
            await self._clear_default(user_id)
        address_id = await self._tx.next_ids("address")
        key = address_key(user_id, address_id)
        item = {
            "PK": key[0],
            "SK": key[1],
            "id": address_id,
            "user_id": user_id,
            **{field: getattr(address, field) for field in _FIELDS},
            "is_default": make_default,
            "created_at": timestamp(datetime.now(UTC)),
        }
        self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_changed)
        return _saved(item)

    async def delete(self, user_id: int, address_id: int) -> bool:
        key = address_key(user_id, address_id)
        if await self._tx.get(key) is None:
            return False
        self._tx.delete(key, condition=_EXISTS, refused=_changed)
        return True

    async def set_default(self, user_id: int, address_id: int) -> bool:
        item = await self._tx.get(address_key(user_id, address_id))
        if item is None:
            return False
        await self._clear_default(user_id, keep=address_id)
        if not item["is_default"]:
            self._mark(item, True)
        return True
