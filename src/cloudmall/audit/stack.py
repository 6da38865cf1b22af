"""One synthesized stack as the checks see it: resources by type, references, the pattern tag."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PATTERN_TAG = "pattern"


@dataclass(frozen=True)
class StackTemplate:
    name: str
    body: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources = self.body.get("Resources") or {}
        return {lid: r for lid, r in resources.items() if isinstance(r, Mapping)}

    def of_type(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(logical id, Properties)`` of every resource of these types."""
        for lid, resource in self.resources.items():
            if resource.get("Type") in types:
                properties = resource.get("Properties") or {}
                yield lid, properties if isinstance(properties, Mapping) else {}

    def type_of(self, logical_id: str | None) -> str | None:
        if logical_id is None or logical_id not in self.resources:
            return None
        return str(self.resources[logical_id].get("Type"))

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return self.resources[logical_id].get("Properties") or {}

    def label(self, logical_id: str) -> str:
        return f"{self.name}/{logical_id}"

    @property
    def pattern(self) -> str | None:
        """The ``pattern`` tag the app's stacks put on every resource (3-tier, single-server...)."""
        for resource in self.resources.values():
            tags = (resource.get("Properties") or {}).get("Tags")
            if isinstance(tags, list):
                for tag in tags:
                    if isinstance(tag, Mapping) and tag.get("Key") == PATTERN_TAG:
                        return str(tag.get("Value"))
        return None


def target(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at, else None."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and parts:
                return str(parts[0])
    return None


def mentions(value: Any, logical_id: str) -> bool:
    """Whether ``value`` (any nesting of Fn::Join, Fn::Sub...) refers to ``logical_id``."""
    if isinstance(value, Mapping):
        if target(value) == logical_id:
            return True
        return any(mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, logical_id) for v in value)
    if isinstance(value, str):
        return f"${{{logical_id}}}" in value or f"${{{logical_id}." in value
    return False


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def whole_number(value: Any) -> int | None:
    """A literal integer (CloudFormation often writes numbers as strings); None for a Ref/Fn::."""
    try:
        return int(str(value)) if isinstance(value, int | str) else None
    except ValueError:
        return None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
