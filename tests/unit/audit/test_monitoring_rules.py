"""Account-level monitoring rules: met by the baseline's resources, reported when missing."""

from __future__ import annotations

from cloudmall.audit import monitoring
from tests.unit.audit.templates import baseline, stack


def test_the_baseline_covers_cloudtrail_guardduty_and_config() -> None:
    stacks = [stack({"Bucket": ("AWS::S3::Bucket", {})}), stack(baseline(), name="Base")]
    for check in (monitoring.cloudtrail, monitoring.guardduty, monitoring.config):
        outcome = check(stacks)
        assert not outcome.problems, check.__name__
        assert all(label.startswith("Base/") for label in outcome.evidence)
    assert "Base/RootUseAlarm" in monitoring.cloudtrail(stacks).evidence


def test_a_single_region_trail_without_validation_is_reported() -> None:
    resources = baseline()
    resources["Trail"] = ("AWS::CloudTrail::Trail", {"IsLogging": True})
    messages = [p.message for p in monitoring.cloudtrail([stack(resources)]).problems]
    assert messages == [
        "Shop/Trail lacks multi-region, log-file validation, KMS encryption",
        "no multi-region trail with log-file validation",
    ]


def test_no_root_alarm_no_guardduty_route_and_a_missing_config_rule_are_each_reported() -> None:
    resources = baseline()
    del resources["RootUseAlarm"], resources["Findings"], resources["RuleINCOMING_SSH_DISABLED"]
    stacks = [stack(resources)]
    assert [p.message for p in monitoring.cloudtrail(stacks).problems] == [
        "no alarm on root-account use"
    ]
    assert [p.message for p in monitoring.guardduty(stacks).problems] == [
        "GuardDuty findings go nowhere (no EventBridge rule)"
    ]
    assert [p.message for p in monitoring.config(stacks).problems] == [
        "no AWS Config rule INCOMING_SSH_DISABLED"
    ]


def test_nothing_account_level_in_the_set_is_reported_for_every_item() -> None:
    stacks = [stack({"Bucket": ("AWS::S3::Bucket", {})})]
    assert monitoring.cloudtrail(stacks).problems
    assert monitoring.guardduty(stacks).problems
    assert len(monitoring.config(stacks).problems) == 2 + len(monitoring.GUIDE_CONFIG_RULES)
