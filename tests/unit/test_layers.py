"""The layer contracts in pyproject.toml (import-linter) hold, and do catch a violation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the `cloudmall` package under `project`/src, with its pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src"), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def copy_of_project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "src" / "cloudmall",
        tmp_path / "src" / "cloudmall",
        ignore=shutil.ignore_patterns("__pycache__", "static"),
    )
    return tmp_path


def _add_import(module: Path, statement: str) -> None:
    text = module.read_text()
    module.write_text(
        text.replace(
            "from __future__ import annotations\n",
            f"from __future__ import annotations\n\n{statement}\n",
            1,
        )
    )


def test_the_code_keeps_every_layer_contract(copy_of_project: Path) -> None:
    result = _lint_imports(copy_of_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("domain/money.py", "import sqlalchemy  # noqa", "domain: nothing of ours"),
        (
            "services/orders.py",
            "import cloudmall.adapters.metrics  # noqa",
            "services: domain and ports",
        ),
        ("services/catalog.py", "import orjson  # noqa", "services: domain and ports"),
        ("web/routers/ops.py", "import cloudmall.adapters.probes  # noqa", "web and cli reach"),
        ("cli/shop.py", "import cloudmall.adapters.db.migrations  # noqa", "web and cli reach"),
    ],
)
def test_a_layer_violation_fails_the_check(
    copy_of_project: Path, module: str, statement: str, contract: str
) -> None:
    _add_import(copy_of_project / "src" / "cloudmall" / module, statement)
    result = _lint_imports(copy_of_project)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(line.startswith(contract) for line in broken), result.stdout
