"""The engine: statuses per stack, account-level coverage across the set, exemptions."""

from __future__ import annotations

from cloudmall.audit.engine import audit
from cloudmall.audit.model import AuditReport, Status
from cloudmall.audit.rules import CHECKLIST, RULES_BY_ID
from tests.unit.audit.templates import ENCRYPTED_BUCKET, baseline, public_network, ref, stack


def _status(report: AuditReport, stack_name: str, rule_id: str) -> Status:
    [stack_report] = [s for s in report.stacks if s.stack == stack_name]
    [item] = [i for i in stack_report.items if i.rule_id == rule_id]
    return item.status


def test_the_checklist_has_the_guides_four_groups_and_twelve_items() -> None:
    groups = {rule.group.value for rule in CHECKLIST}
    assert groups == {"network", "access", "data", "monitoring"}
    guide_items = {rule.guide_item.split(" (")[0] for rule in CHECKLIST}
    assert len(guide_items) == 12


def test_account_level_items_are_covered_only_when_the_baseline_is_in_the_set() -> None:
    shop = stack({"Bucket": ENCRYPTED_BUCKET})
    alone = audit([shop])
    assert _status(alone, "Shop", "cloudtrail") is Status.not_met
    assert not alone.passed
    together = audit([shop, stack(baseline(), name="SecurityBaseline")])
    for rule in CHECKLIST:
        if rule.account_level:
            assert _status(together, "Shop", rule.rule_id) is Status.account_level


def test_an_exemption_applies_to_its_pattern_and_code_only() -> None:
    resources = {
        **public_network(),
        "Server": ("AWS::EC2::Instance", {"SubnetId": ref("PublicSubnet")}),
    }
    event_site = stack(resources, name="Event", pattern="single-server")
    shop = stack(resources, name="Shop", pattern="3-tier")
    report = audit([event_site, shop, stack(baseline(), name="Base")])
    assert _status(report, "Event", "private-subnets") is Status.exempt
    assert _status(report, "Shop", "private-subnets") is Status.not_met
    [item] = [i for i in report.stacks[0].items if i.rule_id == "private-subnets"]
    assert "exempt: the guide's pattern 1" in item.reasons[0]
    assert RULES_BY_ID["private-subnets"].exemption("3-tier", "public-subnet") is None


def test_a_stack_with_nothing_to_check_is_not_applicable_not_met() -> None:
    report = audit([stack(baseline(), name="Base")])
    assert _status(report, "Base", "private-subnets") is Status.not_applicable
    assert _status(report, "Base", "backups") is Status.not_applicable
