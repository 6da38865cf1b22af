"""What the suites' environment guard watches (tests/conftest.py): the variables the shop and
OpenTelemetry read their settings from, where a test that leaves one changed changes the settings
of every test after it."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

WATCHED_PREFIXES = ("CLOUDMALL_", "OTEL_")


def watched(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name.startswith(WATCHED_PREFIXES)}


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Each variable that differs, named with how: 'NAME (set)', '(unset)' or '(changed)'."""
    return [
        f"{name} ({'set' if name not in before else 'unset' if name not in after else 'changed'})"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def restore(before: Mapping[str, str], environ: MutableMapping[str, str] = os.environ) -> None:
    """Put the watched variables back as `before` had them."""
    for name in watched(environ).keys() - before.keys():
        del environ[name]
    environ.update(before)
