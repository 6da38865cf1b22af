"""Accounts as items: the user, and an email item whose key makes the address unique."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    USERS,
    email_key,
    moment,
    sortable_id,
    timestamp,
    user_key,
)
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.errors import EmailTaken
from cloudmall.domain.users import Role, User
from cloudmall.services.ports import RetryableConflict

_ABSENT = "attribute_not_exists(#PK)"


def _user(item: dict[str, Any]) -> User:
    return User(
        id=int(item["id"]),
        email=item["email"],
        name=item["name"],
        role=Role(item["role"]),
        password_hash=item["password_hash"],
        created_at=moment(item["created_at"]),
        token_version=int(item["token_version"]),
        phone=item.get("phone", ""),
        language=item.get("language", "ko"),
        must_change_password=bool(item.get("must_change_password", False)),
    )


def _email_taken() -> Exception:
    return EmailTaken("An account with this email already exists")


def _changed() -> Exception:
    return RetryableConflict("the account changed meanwhile")


class DynamoUserRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def get(self, user_id: int) -> User | None:
        item = await self._tx.get(user_key(user_id))
        return _user(item) if item else None

    async def get_many(self, user_ids: Collection[int]) -> dict[int, User]:
        found = {user_id: await self.get(user_id) for user_id in user_ids}
        return {user_id: user for user_id, user in found.items() if user is not None}

    async def get_by_email(self, email: str) -> User | None:
        owner = await self._tx.get(email_key(email))
        return await self.get(int(owner["user_id"])) if owner else None

    def _claim_email(self, email: str, user_id: int) -> None:
        key = email_key(email)
        item = {"PK": key[0], "SK": key[1], "user_id": user_id}
        self._tx.put(item, condition=_ABSENT, refused=_email_taken)

    async def add(
        self,
        *,
        email: str,
        name: str,
        role: Role,
        password_hash: str,
        language: str = "ko",
        must_change_password: bool = False,
    ) -> User:
        if await self._tx.get(email_key(email)) is not None:
            raise _email_taken()
        user_id = await self._tx.next_ids("user")
        now = timestamp(datetime.now(UTC))
        key = user_key(user_id)
        item = {
            "PK": key[0],
            "SK": key[1],
            "GSI1PK": USERS,
            "GSI1SK": sortable_id(user_id),
            "id": user_id,
            "email": email,
            "name": name,
            "role": role.value,
            "password_hash": password_hash,
            "phone": "",
            "language": language,
            "must_change_password": must_change_password,
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }
        self._tx.put(item, condition=_ABSENT, refused=_changed)
        self._claim_email(email, user_id)
        return _user(item)

    async def _set(
        self,
        user_id: int,
        values: dict[str, Any],
        *,
        new_password: bool = False,
        if_token_version: int | None = None,
    ) -> bool:
        """SET `values`; a new password also raises the token version. With `if_token_version`,
        only if the version is still that (as read, and at commit)."""
        before = await self._tx.get(user_key(user_id))
        if before is None:
            return False
        version = int(before["token_version"])
        if if_token_version is not None and version != if_token_version:
            return False
        values = {**values, "updated_at": timestamp(datetime.now(UTC))}
        if new_password:
            values["token_version"] = version + 1
        condition, read = "attribute_exists(#PK)", None
        if new_password or if_token_version is not None:
            # The version this transaction read: a password changed meanwhile is run again.
            condition, read = "#token_version = :read_version", {":read_version": version}
        self._tx.update(
            user_key(user_id),
            set_=values,
            condition=condition,
            values=read,
            after={**before, **values},
            refused=_changed,
        )
        if "email" in values and values["email"] != before["email"]:
            self._claim_email(values["email"], user_id)
            self._tx.delete(email_key(before["email"]), refused=_changed)
        return True

    async def update(self, user_id: int, changes: Mapping[str, object]) -> None:
        await self._set(user_id, dict(changes))

    async def change_credentials(
        self,
        user_id: int,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        must_change_password: bool = False,
        if_token_version: int | None = None,
    ) -> bool:
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role.value
        if password_hash is not None:
            values["password_hash"] = password_hash
            values["must_change_password"] = must_change_password
        return await self._set(
            user_id,
            values,
            new_password=password_hash is not None,
            if_token_version=if_token_version,
        )

    async def count(self) -> int:
        return len(await self._tx.query(USERS, index="GSI1", count=True))
