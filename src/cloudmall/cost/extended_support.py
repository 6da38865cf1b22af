"""RDS Extended Support: what a database on a major version past standard support pays extra.

RDS bills it per vCPU-hour of every instance (a Multi-AZ instance has two), from the day the
major version leaves standard support, whatever the instance class's price. Rules as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# (engine, major version) -> the first day RDS charges Extended Support for it
STANDARD_SUPPORT_ENDS: dict[tuple[str, str], date] = {
    ("mysql", "5.7"): date(2024, 3, 1),
    ("mysql", "8.0"): date(2026, 8, 1),
    ("postgres", "11"): date(2024, 3, 1),
    ("postgres", "12"): date(2025, 3, 1),
}

_SIZE = re.compile(r"^(?:(\d+)xlarge|xlarge|large|medium|small|micro|nano)$")


def vcpus(instance_class: str) -> int | None:
    """vCPUs of a db.* class by its size (large and smaller: 2; N·xlarge: 4·N)."""
    size = instance_class.removeprefix("db.").rsplit(".", 1)[-1]
    match = _SIZE.match(size)
    if match is None:
        return None
    if size.endswith("xlarge"):
        return 4 * int(match.group(1) or 1)
    return 2


def major_version(engine: str, version: str) -> str:
    """``8.0.42`` → ``8.0`` (MySQL), ``12.19`` → ``12`` (PostgreSQL)."""
    parts = version.split(".")
    return ".".join(parts[:2]) if engine == "mysql" else parts[0]


@dataclass(frozen=True)
class ExtendedSupport:
    major: str
    since: date
    vcpus: int


def extended_support(
    engine: str, version: str | None, instance_class: str, *, instances: int, on: date
) -> ExtendedSupport | None:
    """Extended Support that applies ``on`` that day, or ``None`` (in standard support, or no
    version given: RDS then creates the default, supported, major version)."""
    if not version:
        return None
    major = major_version(engine, version)
    since = STANDARD_SUPPORT_ENDS.get((engine, major))
    cpus = vcpus(instance_class)
    if since is None or on < since or cpus is None:
        return None
    return ExtendedSupport(major, since, cpus * instances)
