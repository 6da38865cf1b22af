"""Migrations: one Alembic history on every backend, safe to run from several instances at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import current_revision, head_revision

pytestmark = pytest.mark.anyio


def migrate_three_at_once(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "CLOUDMALL_DATABASE_URL": database_url, "CLOUDMALL_VAR_DIR": str(tmp_path)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "cloudmall", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs


async def test_concurrent_migrate_commands_end_at_head(database_url: str, tmp_path: Path) -> None:
    await anyio.to_thread.run_sync(migrate_three_at_once, database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()
