"""The lock files agree with what pyproject.toml declares (`make lock` refreshes them)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCKS = REPO / "requirements"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
DEV_EXTRAS = ("test", "dev", "infra")

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
_DIRECT = "cloudmall (pyproject.toml)"


@dataclass
class Pin:
    name: str
    version: Version
    hashes: int
    via: str


def read_lock(name: str) -> dict[str, list[Pin]]:
    """Pins by canonical name (a universal lock may pin one name per Python-version marker)."""
    pins: dict[str, list[Pin]] = {}
    current: Pin | None = None
    for line in (LOCKS / name).read_text().splitlines():
        if match := _PIN.match(line):
            current = Pin(canonicalize_name(match["name"]), Version(match["version"]), 0, "")
            pins.setdefault(current.name, []).append(current)
        elif current and line.strip().startswith("--hash=sha256:"):
            current.hashes += 1
        elif current and line.strip().startswith("#"):
            current.via += line
    return pins


def read_in(name: str) -> list[Requirement]:
    lines = (LOCKS / name).read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def declared(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


CASES = {
    "runtime.lock": declared(),
    "dev.lock": declared(*DEV_EXTRAS),
    "build.lock": read_in("build.in"),
    "checkov.lock": read_in("checkov.in"),
}


@pytest.mark.parametrize("lock", sorted(CASES))
def test_every_declared_requirement_is_pinned_within_its_range(lock: str) -> None:
    pins = read_lock(lock)
    problems = []
    for requirement in CASES[lock]:
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in {lock}")
            continue
        for pin in pins[name]:
            if not requirement.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{requirement} but {lock} pins {pin.version}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


@pytest.mark.parametrize("lock", sorted(CASES))
def test_every_pin_carries_hashes(lock: str) -> None:
    pins = [pin for group in read_lock(lock).values() for pin in group]
    assert len(pins) >= len(CASES[lock])
    assert [pin.name for pin in pins if pin.hashes == 0] == []


@pytest.mark.parametrize("lock", ["runtime.lock", "dev.lock"])
def test_nothing_is_pinned_as_a_direct_requirement_that_pyproject_dropped(lock: str) -> None:
    wanted = {canonicalize_name(r.name) for r in CASES[lock]}
    direct = {name for name, group in read_lock(lock).items() if _DIRECT in group[0].via}
    assert direct - wanted == set(), "run `make lock`"


def test_the_image_runs_the_versions_the_tests_ran() -> None:
    runtime, dev = read_lock("runtime.lock"), read_lock("dev.lock")
    differ = {
        name: ([p.version for p in pins], [p.version for p in dev.get(name, [])])
        for name, pins in runtime.items()
        if [p.version for p in pins] != [p.version for p in dev.get(name, [])]
    }
    assert differ == {}


def test_the_build_lock_builds_what_pyproject_names_as_its_build_backend() -> None:
    build_requires = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert [str(r) for r in read_in("build.in")] == [str(r) for r in build_requires]
