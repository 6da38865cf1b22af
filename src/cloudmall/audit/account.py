"""Account-level resources anywhere in the set: AWS Config rules, trails, detectors, alarms.

Account-level items (MFA, key rotation, CloudTrail, GuardDuty, Config) are met once per account
and region by the security baseline stack, whichever stack of the set holds it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloudmall.audit.model import Outcome, Problem
from cloudmall.audit.stack import StackTemplate

ACCOUNT = "account"


@dataclass(frozen=True)
class Found:
    label: str
    properties: Mapping[str, Any]


def find(stacks: Sequence[StackTemplate], *types: str) -> Iterator[Found]:
    for stack in stacks:
        for lid, properties in stack.of_type(*types):
            yield Found(stack.label(lid), properties)


def config_rules(stacks: Sequence[StackTemplate]) -> dict[str, list[Found]]:
    """AWS managed Config rules of the set by source identifier (``ROOT_ACCOUNT_MFA_ENABLED``)."""
    rules: dict[str, list[Found]] = {}
    for found in find(stacks, "AWS::Config::ConfigRule"):
        source = found.properties.get("Source") or {}
        if source.get("Owner") == "AWS" and isinstance(source.get("SourceIdentifier"), str):
            rules.setdefault(source["SourceIdentifier"], []).append(found)
    return rules


def recorder_running(stacks: Sequence[StackTemplate]) -> list[str]:
    """What is missing for Config rules to evaluate anything: a recorder and a delivery channel."""
    missing = []
    if not list(find(stacks, "AWS::Config::ConfigurationRecorder")):
        missing.append("no AWS Config recorder")
    if not list(find(stacks, "AWS::Config::DeliveryChannel")):
        missing.append("no AWS Config delivery channel")
    return missing


def covered_by_rules(stacks: Sequence[StackTemplate], *identifiers: str) -> Outcome:
    """Met when a recorder runs and a Config rule watches each identifier."""
    rules = config_rules(stacks)
    evidence = [found.label for ident in identifiers for found in rules.get(ident, [])]
    missing = recorder_running(stacks)
    missing += [f"no AWS Config rule {ident}" for ident in identifiers if ident not in rules]
    return Outcome(tuple(evidence), tuple(Problem(ACCOUNT, "not-covered", m) for m in missing))
