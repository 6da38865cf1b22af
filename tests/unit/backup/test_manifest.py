"""Manifest checks: round trip, and everything that makes a manifest unusable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cloudmall.services.backup import (
    BackupCorrupted,
    Manifest,
    PartInfo,
    TableEntry,
    backup_time,
    manifest_problems,
    new_backup_id,
)

SHA = "ab" * 32
NOW = datetime(2025, 3, 4, 2, 0, tzinfo=UTC)
ID = "20250304T020000Z-0a1b2c"


def manifest(**changes: object) -> Manifest:
    base = Manifest(
        backup_id=ID,
        created_at=NOW,
        finished_at=NOW,
        backend="sqlite",
        schema_revision="0001",
        storage_class="STANDARD",
        tables=(
            TableEntry(
                name="orders",
                columns=("id", "user_id"),
                primary_key="id",
                rows=3,
                content_sha256=SHA,
                parts=(
                    PartInfo("orders.0000.jsonl.gz", 2, 10, SHA),
                    PartInfo("orders.0001.jsonl.gz", 1, 10, SHA),
                ),
            ),
        ),
        media_keys=("images/x.png",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_round_trip() -> None:
    original = manifest()
    assert Manifest.from_json(original.to_json(), backup_id=ID) == original
    assert original.size == 20 and original.rows("orders") == 3 and original.rows("x") == 0


def test_ids() -> None:
    made = new_backup_id(NOW)
    assert made.startswith("20250304T020000Z-") and backup_time(made) == NOW
    assert backup_time("../etc") is None and backup_time("20250304T020000Z-XYZ") is None


def entry(**changes: object) -> TableEntry:
    return replace(manifest().tables[0], **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (manifest(format="other"), "not a cloudmall backup"),
        (manifest(format_version=99), "newer than this cloudmall reads"),
        (manifest(backup_id="20250304T020000Z-ffffff"), "it names backup"),
        (manifest(tables=()), "no tables"),
        (manifest(tables=(entry(), entry())), "listed twice"),
        (manifest(tables=(entry(primary_key="nope"),)), "primary key"),
        (manifest(tables=(entry(name="orders; DROP TABLE users"),)), "plain identifier"),
        (manifest(tables=(entry(columns=("id", "user id")),)), "plain identifier"),
        (manifest(tables=(entry(content_sha256="x"),)), "content checksum"),
        (manifest(tables=(entry(rows=4),)), "add up"),
        (
            manifest(tables=(entry(parts=(PartInfo("../../x.0000.jsonl.gz", 3, 1, SHA),)),)),
            "bad part name",
        ),
        (
            manifest(tables=(entry(parts=(PartInfo("users.0000.jsonl.gz", 3, 1, SHA),)),)),
            "bad part name",
        ),
        (manifest(tables=(entry(parts=(PartInfo("orders.0000.jsonl.gz", 3, 1, ""),)),)), "SHA"),
    ],
)
def test_problems(broken: Manifest, problem: str) -> None:
    problems = manifest_problems(broken, backup_id=ID)
    assert any(problem in p for p in problems), problems
    with pytest.raises(BackupCorrupted, match="bad manifest"):
        Manifest.from_json(broken.to_json(), backup_id=ID)


def test_a_good_manifest_has_no_problems() -> None:
    assert manifest_problems(manifest(), backup_id=ID) == []


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b'{"id": 1}', b"\xff\xfe"])
def test_unreadable_manifests(data: bytes) -> None:
    with pytest.raises(BackupCorrupted, match="unreadable"):
        Manifest.from_json(data, backup_id=ID)
