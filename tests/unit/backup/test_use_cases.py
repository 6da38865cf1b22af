"""The backup use cases over in-memory fakes: what is written when, and what is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from cloudmall.domain.errors import InvalidInput
from cloudmall.services.backup import (
    BackupCorrupted,
    BackupIncompatible,
    BackupNotFound,
    Manifest,
    TargetNotEmpty,
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
)
from cloudmall.services.ports import StorageUnavailable
from tests.unit.backup.fakes import FakeDatabase, MemoryStore, sample_rows


def make(store: MemoryStore, **options: object) -> Manifest:
    source = FakeDatabase(rows=sample_rows())
    return asyncio.run(create_backup(database=source, store=store, **options))  # type: ignore[arg-type]


def test_backup_writes_parts_then_the_manifest_in_standard() -> None:
    store = MemoryStore()
    manifest = make(store, storage_class="GLACIER", part_rows=3)
    prefix = f"backups/{manifest.backup_id}/"
    assert list(store.objects)[-1] == prefix + "manifest.json"
    assert store.classes[prefix + "manifest.json"] == "STANDARD"
    assert store.classes[prefix + "orders.0000.jsonl.gz"] == "GLACIER"
    assert [p.rows for p in manifest.tables[1].parts] == [3, 3, 1]
    assert manifest.rows("orders") == 7 and manifest.media_keys == ("images/abc.png",)


def test_a_failed_backup_is_cleaned_up_and_never_listed() -> None:
    store = MemoryStore(fail_on="orders.0001")
    with pytest.raises(StorageUnavailable):
        make(store, part_rows=3)
    assert store.objects == {}  # the parts already written were removed again
    store = MemoryStore(fail_on="manifest.json")
    with pytest.raises(StorageUnavailable):
        make(store)
    assert asyncio.run(list_backups(store)).backups == []


def test_unknown_storage_classes_and_unmigrated_databases_are_refused() -> None:
    with pytest.raises(InvalidInput, match="storage class"):
        make(MemoryStore(), storage_class="COLD")
    behind = FakeDatabase(rows=sample_rows(), revision="0001")
    with pytest.raises(BackupIncompatible, match="cloudmall migrate"):
        asyncio.run(create_backup(database=behind, store=MemoryStore()))


def test_restore_round_trip_and_refusals() -> None:
    store = MemoryStore()
    manifest = make(store)
    target = FakeDatabase(revision=None)
    report = asyncio.run(restore_backup(store=store, database=target, backup_id=manifest.backup_id))
    assert report.rows == {"users": 2, "orders": 7}
    assert target.migrated_to == ["0002"] and target.identities_reset

    with pytest.raises(TargetNotEmpty, match="--force"):
        asyncio.run(restore_backup(store=store, database=target, backup_id=manifest.backup_id))
    again = asyncio.run(
        restore_backup(store=store, database=target, backup_id=manifest.backup_id, force=True)
    )
    assert again.replaced and again.rows == report.rows

    older_code = FakeDatabase(revision=None, head="0001")
    with pytest.raises(BackupIncompatible, match="newer version"):
        asyncio.run(restore_backup(store=store, database=older_code, backup_id=manifest.backup_id))
    with pytest.raises(BackupNotFound):
        asyncio.run(
            restore_backup(store=store, database=target, backup_id="20990101T000000Z-000000")
        )


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "swap"])
def test_a_damaged_part_is_refused_before_anything_is_written(damage: str) -> None:
    store = MemoryStore()
    manifest = make(store)
    key = f"backups/{manifest.backup_id}/orders.0000.jsonl.gz"
    data = bytearray(store.objects[key])
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        store.objects[key] = bytes(data)
    elif damage == "truncate":
        store.objects[key] = bytes(data[:-9])
    elif damage == "delete":
        del store.objects[key]
    else:  # a well-formed part of another table in its place
        store.objects[key] = store.objects[f"backups/{manifest.backup_id}/users.0000.jsonl.gz"]
    target = FakeDatabase(revision=None)
    with pytest.raises(BackupCorrupted, match=r"orders\.0000\.jsonl\.gz"):
        asyncio.run(restore_backup(store=store, database=target, backup_id=manifest.backup_id))
    assert target.inserted == 0 and target.migrated_to == []


def test_prune_keeps_the_rule_and_removes_abandoned_backups() -> None:
    store = MemoryStore()
    now = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)
    made = []
    # Mon 10 Mar (W11); Sun 9 Mar twice (W10); Sat 8 Mar (W10); Sat 1 Mar (W09); Tue 18 Feb
    for days_ago, hours in ((0, 1), (1, 1), (1, 2), (2, 1), (9, 1), (20, 1)):
        moment = now - timedelta(days=days_ago, hours=hours)
        made.append(make(store, clock=lambda moment=moment: moment))
    abandoned = "20250301T020000Z-aaaaaa"
    fresh = "20250310T025900Z-bbbbbb"  # may still be running: left alone
    store.objects[f"backups/{abandoned}/users.0000.jsonl.gz"] = b"x"
    store.objects[f"backups/{fresh}/users.0000.jsonl.gz"] = b"x"

    plan = asyncio.run(
        prune_backups(store=store, keep_daily=2, keep_weekly=3, dry_run=True, now=now)
    )
    assert {m.backup_id for m in plan.keep} == {
        made[0].backup_id,
        made[1].backup_id,
        made[4].backup_id,
    }
    assert len(plan.delete) == 3 and plan.incomplete == [abandoned]
    assert store.deleted == []

    done = asyncio.run(prune_backups(store=store, keep_daily=2, keep_weekly=3, now=now))
    assert done.deleted_objects > 0
    listed = asyncio.run(list_backups(store))
    assert {m.backup_id for m in listed.backups} == {m.backup_id for m in plan.keep}
    assert listed.incomplete == [fresh]
    first_deleted = store.deleted[0]
    assert first_deleted.endswith("manifest.json")  # a half-deleted backup is never "complete"

    with pytest.raises(InvalidInput, match="keep at least one"):
        asyncio.run(prune_backups(store=store, keep_daily=0, keep_weekly=0))
