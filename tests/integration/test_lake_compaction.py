"""Compaction on a real folder lake: a day's files become one per partition with each row once,
the report does not change, and a compaction stopped between its write and its deletes, or a
batch exported again after it, is merged back to each row once next time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from cloudmall.adapters.lake.arrow_schema import file_schema
from cloudmall.adapters.lake.duckdb_queries import DuckDbLakeQueries
from cloudmall.adapters.lake.parquet import ParquetEventLake, event_row, parquet_bytes
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.domain.events import ORDER_PAID, new_event
from cloudmall.services.lake_schema import EVENTS
from cloudmall.services.ports import Compaction
from tests.conftest import shop_env
from tests.integration.test_lake_sql import DAY1, DAY2, check_report, shop_history
from tests.support import cli

pytestmark = pytest.mark.anyio


class DeletesFail(LocalObjectStore):
    """A store that stops working once the merged file is written (a crash at that point)."""

    async def delete(self, key: str) -> None:
        raise OSError("stopped")


def files(root: Path) -> dict[str, list[str]]:
    """Each partition folder with the names of its files."""
    return {
        str(folder.relative_to(root)): sorted(path.name for path in folder.glob("*.parquet"))
        for folder in sorted(root.glob("**/dt=*"))
    }


async def raw_counts(root: Path) -> tuple[int, int]:
    (row,) = (
        await DuckDbLakeQueries(f"file://{root}").query(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM order_lines)"
        )
    ).rows
    return int(row[0]), int(row[1])  # type: ignore[call-overload]


async def test_a_days_files_become_one_per_partition_and_the_report_stays(
    tmp_path: Path,
) -> None:
    history = shop_history()
    writer = ParquetEventLake(LocalObjectStore(tmp_path))
    for number, start in enumerate(range(0, len(history), 3)):
        await writer.write(f"{number:012d}-x", history[start : start + 3])
    await writer.write("000000000099-again", history)  # a restore's replay: every event twice
    before = files(tmp_path)
    day2 = {
        folder: names
        for folder, names in before.items()
        if folder.endswith(DAY2.date().isoformat())
    }
    counts = await raw_counts(tmp_path)

    done = await writer.compact(DAY1.date())

    after = files(tmp_path)
    day1 = {f: names for f, names in after.items() if f.endswith(DAY1.date().isoformat())}
    assert day1 and all(len(names) == 1 for names in day1.values())
    assert all(names[0].startswith("part-compacted-") for names in day1.values())
    merged = [f for f, names in before.items() if f in day1 and len(names) > 1]
    assert done.partitions == len(merged)
    assert done.parts == sum(len(before[f]) for f in merged)
    assert {f: n for f, n in after.items() if f not in day1} == day2  # another day: untouched
    # every day-1 row once now (the replay's copies went); the report is what it was
    assert (await raw_counts(tmp_path))[0] < counts[0]
    await check_report(DuckDbLakeQueries(f"file://{tmp_path}"))
    assert await writer.compact(DAY1.date()) == Compaction(0, 0, 0)  # nothing left to merge


async def test_a_compaction_stopped_before_its_deletes_is_merged_again(tmp_path: Path) -> None:
    history = shop_history()
    writer = ParquetEventLake(LocalObjectStore(tmp_path))
    await writer.write("000000000001-a", history[:6])
    await writer.write("000000000007-b", history[6:])
    with pytest.raises(OSError, match="stopped"):
        await ParquetEventLake(DeletesFail(tmp_path)).compact(DAY1.date())
    # the merged file and its parts side by side: rows twice on disk, the report counts once
    await check_report(DuckDbLakeQueries(f"file://{tmp_path}"))
    done = await writer.compact(DAY1.date())
    assert done.partitions >= 1
    await writer.write("000000000001-a", history[:6])  # an export rerun after the compaction
    await writer.compact(DAY1.date())
    day1 = {f: n for f, n in files(tmp_path).items() if f.endswith(DAY1.date().isoformat())}
    assert all(len(names) == 1 for names in day1.values())
    events, lines = await raw_counts(tmp_path)
    (distinct,) = (
        await DuckDbLakeQueries(f"file://{tmp_path}").query(
            "SELECT count(DISTINCT event_id) FROM events"
        )
    ).rows
    assert events == distinct[0] == len(history)
    assert lines == 5  # the four orders' lines, each once
    await check_report(DuckDbLakeQueries(f"file://{tmp_path}"))


async def test_the_cli_compacts_a_day_and_refuses_a_bad_one(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    writer = ParquetEventLake(LocalObjectStore(lake_dir))
    history = shop_history()
    await writer.write("000000000001-a", history[:6])
    await writer.write("000000000007-b", history[6:])
    env = shop_env(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        tmp_path,
        CLOUDMALL_LAKE_URL=f"file://{lake_dir}",
    )
    done = cli(env, tmp_path, "lake", "compact", "--day", DAY1.date().isoformat())
    assert done.returncode == 0, done.stderr
    # day 1 had two files of order.placed and of order_lines: each becomes one
    assert "merged 4 files into 2" in done.stdout and "for 2026-11-30" in done.stdout
    bad = cli(env, tmp_path, "lake", "compact", "--day", "30/11/2026")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: --day must be a day as YYYY-MM-DD, not '30/11/2026'"


async def test_a_file_from_before_the_trace_id_column_reads_it_as_null_and_compacts(
    tmp_path: Path,
) -> None:
    """`trace_id` came after the lake's first files: they read it as null (columns by name),
    beside files that have it, and a compaction keeps both rows."""
    traced, old = (
        replace(
            new_event(ORDER_PAID, n, {"order_id": n}, occurred_at=DAY1),
            traceparent=f"00-{n:032x}-{n:016x}-01",
        )
        for n in (1, 2)
    )
    writer = ParquetEventLake(LocalObjectStore(tmp_path))
    await writer.write("000000000002-new", [traced])
    before = pa.schema([f for f in file_schema(EVENTS) if f.name != "trace_id"])
    row = {k: v for k, v in event_row(old).items() if k != "trace_id"}
    folder = tmp_path / f"events/type=order.paid/dt={DAY1.date().isoformat()}"
    (folder / "part-000000000001-old.parquet").write_bytes(parquet_bytes([row], before))
    query = "SELECT aggregate_id, trace_id FROM events ORDER BY aggregate_id"
    expected = [("1", f"{1:032x}"), ("2", None)]
    assert (await DuckDbLakeQueries(f"file://{tmp_path}").query(query)).rows == expected
    assert (await writer.compact(DAY1.date())).parts == 2
    assert (await DuckDbLakeQueries(f"file://{tmp_path}").query(query)).rows == expected
