"""Damaged backups and wrong targets, through the CLI: a clear one-line error, exit code 1,
and nothing written to the target database."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudmall.adapters.db.snapshot import backup_database
from tests.conftest import shop_env
from tests.integration.backup.shop import fill
from tests.support import cli


@pytest.fixture(scope="module")
def made_backup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A backup of a small SQLite shop: (its store folder, its id)."""
    home = tmp_path_factory.mktemp("source")
    source_url = f"sqlite:///{home / 'source.db'}"
    fill(source_url, n_orders=300)
    env = shop_env(source_url, home, CLOUDMALL_STORAGE_URL=f"file://{home / 'store'}")
    made = cli(env, home, "backup", "create", "--storage-class", "standard_ia")
    assert made.returncode == 0, made.stderr
    (backup_id,) = [p.name for p in (home / "store" / "backups").iterdir()]
    yield home / "store", backup_id


def env_for(database_url: str, tmp_path: Path, store: Path) -> dict[str, str]:
    return shop_env(database_url, tmp_path, CLOUDMALL_STORAGE_URL=f"file://{store}")


def copy_store(made_backup: tuple[Path, str], tmp_path: Path) -> tuple[Path, Path]:
    store, backup_id = made_backup
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    return copy, copy / "backups" / backup_id


def one_line_error(result: object, *needles: str) -> None:
    import subprocess

    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    message = " ".join(lines)
    assert message.startswith("error:"), result.stderr
    for needle in needles:
        assert needle in message, message


def state(database_url: str) -> tuple[str | None, dict[str, int]]:
    async def read() -> tuple[str | None, dict[str, int]]:
        database = backup_database(database_url)
        try:
            return await database.current_revision(), await database.row_counts()
        finally:
            await database.engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_a_damaged_part_is_detected_and_refused(
    damage: str, made_backup: tuple[Path, str], database_url: str, tmp_path: Path
) -> None:
    store, folder = copy_store(made_backup, tmp_path)
    backup_id = folder.name
    part = folder / "order_lines.0000.jsonl.gz"
    data = bytearray(part.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 3] ^= 0x20
    else:
        data = data[: len(data) - 100]
    part.write_bytes(bytes(data))
    env = env_for(database_url, tmp_path, store)

    verified = cli(env, tmp_path, "backup", "verify", backup_id)
    one_line_error(verified, f"backup {backup_id} is corrupted", "order_lines.0000.jsonl.gz")

    restored = cli(env, tmp_path, "backup", "restore", backup_id)
    one_line_error(restored, "is corrupted", "order_lines.0000.jsonl.gz")
    assert state(database_url) == (None, {})  # not even the schema was created


def test_restore_refuses_a_non_empty_target_unless_forced(
    made_backup: tuple[Path, str], database_url: str, tmp_path: Path
) -> None:
    store, backup_id = made_backup
    env = env_for(database_url, tmp_path, store)
    first = cli(env, tmp_path, "backup", "restore", backup_id)
    assert first.returncode == 0, first.stderr
    revision, counts = state(database_url)
    assert revision is not None and counts["orders"] == 300

    again = cli(env, tmp_path, "backup", "restore", backup_id)
    one_line_error(again, "not empty", "300 orders", "--force")

    forced = cli(env, tmp_path, "backup", "restore", backup_id, "--force")
    assert forced.returncode == 0, forced.stderr
    assert state(database_url)[1] == counts


def test_unknown_ids_and_bad_options_are_one_line_errors(
    made_backup: tuple[Path, str], tmp_path: Path
) -> None:
    store, backup_id = made_backup
    env = env_for(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path, store)
    one_line_error(cli(env, tmp_path, "backup", "verify", "last-tuesday"), "not a backup id")
    one_line_error(
        cli(env, tmp_path, "backup", "restore", "20200101T000000Z-abcdef"), "no complete backup"
    )
    one_line_error(cli(env, tmp_path, "backup", "create", "--storage-class", "DEEP"), "storage")
    one_line_error(cli(env, tmp_path, "backup", "create"), "no cloudmall schema")
    one_line_error(
        cli(env, tmp_path, "backup", "prune", "--keep-daily", "0", "--keep-weekly", "0"),
        "keep at least one",
    )

    listed = cli(env, tmp_path, "backup", "list")
    assert listed.returncode == 0 and backup_id in listed.stdout
    assert "STANDARD_IA" in listed.stdout
    verified = cli(env, tmp_path, "backup", "verify", backup_id)
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stdout and "trial restore" in verified.stdout
    assert "warning" in verified.stdout  # the test shop's image keys point at nothing
    pruned = cli(env, tmp_path, "backup", "prune", "--keep-daily", "1", "--dry-run")
    assert pruned.returncode == 0 and "keep" in pruned.stdout
