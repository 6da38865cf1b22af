"""The Lambda deployment artifact: cloudmall and its runtime dependencies, as manylinux wheels
for the function's Python and architecture, unpacked into one folder and zipped.

`make lambda-package` builds the deploy artifact (Python 3.12, arm64) that the ServerlessShop
stack uploads; `--python-version`/`--platform` build others (the test imports the handler from an
artifact built for this machine's Python). Run: `python -m cloudmall_infra.lambda_package`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / "build" / "lambda"
PYTHON_VERSION = "3.12"
ARCHITECTURE = "arm64"
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}

#: Dependencies the functions never import, left out of the artifact (name → why).
NOT_IN_LAMBDA = {
    "uvicorn": "API Gateway and the Lambda runtime serve HTTP",
    "granian": "API Gateway and the Lambda runtime serve HTTP",
    "typer": "the command line is not deployed",
    "rich": "the command line is not deployed",
    "matplotlib": "charts are drawn by `cloudmall cost`, not by the shop",
    "asyncpg": "the serverless stack runs MySQL",
    "pyarrow": "the lake is exported by `cloudmall lake export` and queried by Athena on AWS",
    "duckdb": "the lake is exported by `cloudmall lake export` and queried by Athena on AWS",
}

#: The AWS services the functions call (name → where). botocore ships the models of every
#: service (~16 MB of the zip); the others' are left out.
AWS_SERVICES = {
    "s3": "the media store (adapters/storage/s3.py)",
    "dynamodb": "the shop on DynamoDB (adapters/dynamodb/client.py)",
    "rds": "IAM tokens for RDS Proxy (adapters/db/iam_auth.py)",
    "secretsmanager": "the functions' secrets at init (serverless/settings.py, via powertools)",
}

#: Files a function never reads: C and Cython sources shipped in some wheels, console scripts.
NEVER_READ = ("*.c", "*.pyx", "*.pxd", "bin/*")


def deploy_dir(python_version: str = PYTHON_VERSION, architecture: str = ARCHITECTURE) -> Path:
    """Where the unpacked artifact for this runtime is built (the stack's code asset)."""
    return BUILD_DIR / f"python{python_version}-{architecture}"


def requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies, less those no function imports."""
    declared: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [spec for spec in declared if _name(spec) not in NOT_IN_LAMBDA]


def _name(spec: str) -> str:
    for stop in "[<>=!~ ;":
        spec = spec.split(stop)[0]
    return spec.strip().lower()


def _pip(*args: str) -> None:
    # Our own arguments, never user input: this interpreter's pip, a fixed command.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)  # noqa: S603


def build(target: Path, *, python_version: str, platform: str, constraints: Path | None) -> None:
    """Install the wheels for `platform` and `python_version` into `target` (replaced)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    wheel_args = [
        "--target",
        str(target),
        "--platform",
        platform,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--no-compile",  # byte code of this machine's Python would not be the runtime's
    ]
    pinned = ["--constraint", str(constraints)] if constraints else []
    _pip(*wheel_args, *pinned, *requirements())
    # cloudmall itself is pure Python: its own wheel, without dependencies (installed above).
    _pip("--target", str(target), "--no-deps", "--no-compile", "--upgrade", str(REPO_ROOT))
    for pattern in NEVER_READ:
        for path in target.glob(pattern if "/" in pattern else f"**/{pattern}"):
            path.unlink()
    for model in (target / "botocore" / "data").iterdir():
        if model.is_dir() and model.name not in AWS_SERVICES:
            shutil.rmtree(model)


def archive_of(folder: Path) -> Path:
    return folder.parent / f"{folder.name}.zip"


def zip_folder(folder: Path, archive: Path) -> int:
    """A reproducible zip (sorted names, fixed times) of `folder`; returns its size in bytes."""
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for path in sorted(_files(folder)):
            info = zipfile.ZipInfo(str(path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
    return archive.stat().st_size


def _files(folder: Path) -> Iterable[Path]:
    return (
        path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default=PYTHON_VERSION)
    parser.add_argument("--architecture", choices=sorted(PLATFORMS), default=ARCHITECTURE)
    parser.add_argument("--out", type=Path, help="folder to build (default: build/lambda/...)")
    parser.add_argument("--constraint", type=Path, help="a lock file to pin the versions")
    args = parser.parse_args(argv)
    target = args.out or deploy_dir(args.python_version, args.architecture)
    build(
        target,
        python_version=args.python_version,
        platform=PLATFORMS[args.architecture],
        constraints=args.constraint,
    )
    size = zip_folder(target, archive_of(target))
    unpacked = sum(path.stat().st_size for path in _files(target))
    print(
        f"{archive_of(target)}: {size / 1e6:.1f} MB zipped, "
        f"{unpacked / 1e6:.1f} MB unpacked (Lambda's limits: 50 MB zipped, 250 MB unpacked)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
