"""In-memory fakes of the ports the backup use case needs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from cloudmall.services.ports import StorageUnavailable, StoredObject, TableSpec


@dataclass
class MemoryStore:
    objects: dict[str, bytes] = field(default_factory=dict)
    classes: dict[str, str | None] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    fail_on: str | None = None  # a put to a key containing this fails

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        storage_class: str | None = None,
    ) -> None:
        if self.fail_on and self.fail_on in key:
            raise StorageUnavailable(f"cannot write {key}")
        self.objects[key] = data
        self.classes[key] = storage_class

    async def get(self, key: str) -> StoredObject | None:
        data = self.objects.get(key)
        return None if data is None else StoredObject(data, "application/octet-stream")

    async def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.objects.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    async def ping(self) -> None:
        pass


SPECS = (
    TableSpec("users", ("id", "email", "created_at"), "id"),
    TableSpec("orders", ("id", "user_id", "total", "paid"), "id"),
)


def sample_rows() -> dict[str, list[tuple[object, ...]]]:
    at = datetime(2025, 1, 1, 12, 30, 0, 123456, tzinfo=UTC)
    return {
        "users": [(1, "a@example.com", at), (2, "b@example.com", at)],
        "orders": [(i, 1 + i % 2, Decimal(i) * Decimal("1.10"), i % 3 == 0) for i in range(1, 8)],
    }


@dataclass
class FakeSnapshot:
    rows: dict[str, list[tuple[object, ...]]]
    revision: str | None

    async def count(self, table: TableSpec) -> int:
        return len(self.rows.get(table.name, []))

    async def batches(self, table: TableSpec, size: int) -> AsyncIterator[list[tuple[object, ...]]]:
        data = sorted(self.rows.get(table.name, []), key=lambda r: r[0])  # type: ignore[arg-type,return-value]
        for start in range(0, len(data), size):
            yield data[start : start + size]

    async def media_keys(self) -> set[str]:
        return {"images/abc.png"}


@dataclass
class FakeLoader:
    db: FakeDatabase

    async def insert(self, table: TableSpec, rows: Sequence[Sequence[object]]) -> None:
        self.db.inserted += len(rows)
        decoded = []
        for row in rows:
            values = list(row)
            for i, name in enumerate(table.columns):
                if name == "total":
                    values[i] = Decimal(str(values[i]))
                if name == "created_at":
                    values[i] = datetime.fromisoformat(str(values[i]).replace("Z", "+00:00"))
            decoded.append(tuple(values))
        self.db.rows.setdefault(table.name, []).extend(decoded)


@dataclass
class FakeDatabase:
    rows: dict[str, list[tuple[object, ...]]] = field(default_factory=dict)
    revision: str | None = "0002"
    head: str = "0002"
    inserted: int = 0
    migrated_to: list[str] = field(default_factory=list)
    identities_reset: bool = False

    @property
    def backend(self) -> str:
        return "fake"

    def tables(self) -> tuple[TableSpec, ...]:
        return SPECS

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[FakeSnapshot]:
        yield FakeSnapshot(self.rows, self.revision)

    def code_revision(self) -> str | None:
        return self.head

    def knows_revision(self, revision: str) -> bool:
        return revision <= self.head

    async def current_revision(self) -> str | None:
        return self.revision

    async def row_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}

    async def migrate(self, revision: str) -> None:
        self.migrated_to.append(revision)
        self.revision = revision

    @contextlib.asynccontextmanager
    async def loader(self, *, replace: bool) -> AsyncIterator[FakeLoader]:
        if replace:
            self.rows = {}
        yield FakeLoader(self)

    async def reset_identities(self) -> None:
        self.identities_reset = True
