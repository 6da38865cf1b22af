"""What a check finds and what the audit reports, independent of any template or output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    met = "met"
    not_met = "not met"
    account_level = "account-level"
    """Met for the whole account by a stack of the set (the security baseline)."""
    exempt = "exempt"
    """Not met by design, for a reason the rule data states (see ``Rule.exemptions``)."""
    not_applicable = "n/a"

    @property
    def passes(self) -> bool:
        return self is not Status.not_met


class Group(StrEnum):
    network = "network"
    access = "access"
    data = "data"
    monitoring = "monitoring"


@dataclass(frozen=True)
class Problem:
    """One reason an item is not met: the resource, a stable code (exemptions name it), a text."""

    resource: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.message}"


@dataclass(frozen=True)
class Outcome:
    """A check's verdict on one stack (or, for account-level items, on the whole set).

    ``evidence`` names the resources that meet the item; ``problems`` why it is not met;
    ``not_applicable`` says why the stack holds nothing the item is about.
    """

    evidence: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    not_applicable: str | None = None


@dataclass(frozen=True)
class ItemResult:
    rule_id: str
    group: Group
    guide_item: str
    title: str
    status: Status
    resources: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass
class StackReport:
    stack: str
    pattern: str | None
    items: list[ItemResult] = field(default_factory=list)

    @property
    def not_met(self) -> list[ItemResult]:
        return [item for item in self.items if not item.status.passes]


@dataclass
class AuditReport:
    stacks: list[StackReport]

    @property
    def passed(self) -> bool:
        return all(not stack.not_met for stack in self.stacks)

    @property
    def not_met_count(self) -> int:
        return sum(len(stack.not_met) for stack in self.stacks)
