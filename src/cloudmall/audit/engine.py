"""Apply the checklist to every stack of a set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cloudmall.audit.model import AuditReport, ItemResult, Outcome, StackReport, Status
from cloudmall.audit.rules import CHECKLIST, Rule
from cloudmall.audit.stack import StackTemplate


def _result(
    rule: Rule, status: Status, resources: Iterable[str] = (), reasons: Iterable[str] = ()
) -> ItemResult:
    return ItemResult(
        rule.rule_id,
        rule.group,
        rule.guide_item,
        rule.title,
        status,
        tuple(resources),
        tuple(reasons),
    )


def judge(rule: Rule, stack: StackTemplate, account: Outcome | None) -> ItemResult:
    """One item for one stack; ``account`` is the account-level outcome over the whole set."""
    if rule.account_check is not None:
        assert account is not None
        if account.problems:
            reasons = [
                f"account-level, not covered by this set: {p.message}" for p in account.problems
            ]
            return _result(rule, Status.not_met, account.evidence, reasons)
        return _result(rule, Status.account_level, account.evidence)
    assert rule.check is not None
    outcome = rule.check(stack)
    if outcome.not_applicable and not outcome.problems:
        return _result(rule, Status.not_applicable, reasons=[outcome.not_applicable])
    open_problems = []
    exempted = []
    for problem in outcome.problems:
        exemption = rule.exemption(stack.pattern, problem.code)
        if exemption is None:
            open_problems.append(str(problem))
        else:
            exempted.append(f"{problem} — exempt: {exemption.reason}")
    if open_problems:
        return _result(rule, Status.not_met, outcome.evidence, open_problems + exempted)
    if exempted:
        return _result(rule, Status.exempt, outcome.evidence, exempted)
    if not outcome.evidence:
        return _result(rule, Status.not_met, reasons=["nothing in the stack shows it is met"])
    return _result(rule, Status.met, outcome.evidence)


def audit(stacks: Sequence[StackTemplate], rules: Sequence[Rule] = CHECKLIST) -> AuditReport:
    """Every rule against every stack; account-level rules are judged once over the set."""
    account = {rule.rule_id: rule.account_check(stacks) for rule in rules if rule.account_check}
    return AuditReport(
        [
            StackReport(
                stack.name,
                stack.pattern,
                [judge(rule, stack, account.get(rule.rule_id)) for rule in rules],
            )
            for stack in stacks
        ]
    )
