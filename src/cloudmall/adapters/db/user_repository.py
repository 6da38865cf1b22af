"""Users over one AsyncConnection: rows in, User out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import (
    users,
    utcnow,
)
from cloudmall.domain.errors import EmailTaken
from cloudmall.domain.users import Role, User


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        created_at=row.created_at,
        token_version=row.token_version,
        phone=row.phone,
        language=row.language,
        must_change_password=bool(row.must_change_password),
    )


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, user_id: int) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def get_many(self, user_ids: Collection[int]) -> dict[int, User]:
        if not user_ids:
            return {}
        rows = await self._conn.execute(select(users).where(users.c.id.in_(sorted(user_ids))))
        return {row.id: _user(row) for row in rows}

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

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
        now = utcnow()
        try:
            result = await self._conn.execute(
                users.insert().values(
                    email=email,
                    name=name,
                    role=role.value,
                    password_hash=password_hash,
                    language=language,
                    must_change_password=must_change_password,
                    created_at=now,
                    updated_at=now,
                )
            )
        except IntegrityError as exc:
            raise EmailTaken("An account with this email already exists") from exc
        user = await self.get(int(result.inserted_primary_key[0]))  # type: ignore[index]
        assert user is not None
        return user

    async def update(self, user_id: int, changes: Mapping[str, object]) -> None:
        await self._conn.execute(
            update(users).where(users.c.id == user_id).values(**changes, updated_at=utcnow())
        )

    async def change_credentials(
        self,
        user_id: int,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        must_change_password: bool = False,
        if_token_version: int | None = None,
    ) -> bool:
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = role.value
        if password_hash is not None:
            values["password_hash"] = password_hash
            values["token_version"] = users.c.token_version + 1
            values["must_change_password"] = must_change_password
        statement = update(users).where(users.c.id == user_id)
        if if_token_version is not None:
            statement = statement.where(users.c.token_version == if_token_version)
        result = await self._conn.execute(statement.values(**values, updated_at=utcnow()))
        return bool(result.rowcount)

    async def count(self) -> int:
        return int((await self._conn.execute(select(func.count()).select_from(users))).scalar_one())
