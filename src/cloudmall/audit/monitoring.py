"""Monitoring checks (account-level): CloudTrail, GuardDuty, AWS Config with the guide's rules."""

from __future__ import annotations

from collections.abc import Sequence

from cloudmall.audit.account import ACCOUNT, config_rules, find, recorder_running
from cloudmall.audit.model import Outcome, Problem
from cloudmall.audit.stack import StackTemplate, is_true

ROOT_USE_MARKER = '$.userIdentity.type = "Root"'

GUIDE_CONFIG_RULES = (
    "ROOT_ACCOUNT_MFA_ENABLED",
    "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
    "ACCESS_KEYS_ROTATED",
    "IAM_PASSWORD_POLICY",
    "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
    "RDS_STORAGE_ENCRYPTED",
    "ENCRYPTED_VOLUMES",
    "CLOUD_TRAIL_ENABLED",
    "INCOMING_SSH_DISABLED",
)
"""The Config rules that watch the checklist's items on the live account."""


def _missing(problems: list[str]) -> tuple[Problem, ...]:
    return tuple(Problem(ACCOUNT, "not-covered", message) for message in problems)


def cloudtrail(stacks: Sequence[StackTemplate]) -> Outcome:
    """A logging, multi-region trail with log-file validation and KMS encryption, and an alarm on
    root-account use from its CloudWatch Logs copy."""
    good = []
    gaps: list[str] = []
    for found in find(stacks, "AWS::CloudTrail::Trail"):
        p = found.properties
        lacking = [
            what
            for what, ok in (
                ("logging", is_true(p.get("IsLogging"))),
                ("multi-region", is_true(p.get("IsMultiRegionTrail"))),
                ("log-file validation", is_true(p.get("EnableLogFileValidation"))),
                ("KMS encryption", bool(p.get("KMSKeyId"))),
            )
            if not ok
        ]
        if lacking:
            gaps.append(f"{found.label} lacks {', '.join(lacking)}")
        else:
            good.append(found.label)
    if not good:
        gaps.append("no multi-region trail with log-file validation")
    root_metrics = {
        (t.get("MetricNamespace"), t.get("MetricName"))
        for found in find(stacks, "AWS::Logs::MetricFilter")
        if ROOT_USE_MARKER in str(found.properties.get("FilterPattern", ""))
        for t in found.properties.get("MetricTransformations", [])
    }
    alarms = [
        found.label
        for found in find(stacks, "AWS::CloudWatch::Alarm")
        if (found.properties.get("Namespace"), found.properties.get("MetricName")) in root_metrics
        and found.properties.get("AlarmActions")
    ]
    if not alarms:
        gaps.append("no alarm on root-account use")
    return Outcome(tuple(good + alarms), _missing(gaps))


def guardduty(stacks: Sequence[StackTemplate]) -> Outcome:
    """An enabled detector and an EventBridge rule that sends its findings somewhere."""
    detectors = [
        f.label
        for f in find(stacks, "AWS::GuardDuty::Detector")
        if is_true(f.properties.get("Enable"))
    ]
    routes = [
        f.label
        for f in find(stacks, "AWS::Events::Rule")
        if "aws.guardduty" in (f.properties.get("EventPattern") or {}).get("source", [])
        and f.properties.get("Targets")
    ]
    gaps = [] if detectors else ["no enabled GuardDuty detector"]
    gaps += [] if routes else ["GuardDuty findings go nowhere (no EventBridge rule)"]
    return Outcome(tuple(detectors + routes), _missing(gaps))


def config(stacks: Sequence[StackTemplate]) -> Outcome:
    """A recorder of every supported type, a delivery channel and the guide's managed rules."""
    gaps = recorder_running(stacks)
    recorders = []
    for found in find(stacks, "AWS::Config::ConfigurationRecorder"):
        group = found.properties.get("RecordingGroup") or {}
        if is_true(group.get("AllSupported")):
            recorders.append(found.label)
        else:
            gaps.append(f"{found.label} does not record every supported resource type")
    rules = config_rules(stacks)
    gaps += [f"no AWS Config rule {ident}" for ident in GUIDE_CONFIG_RULES if ident not in rules]
    evidence = recorders + [f.label for ident in GUIDE_CONFIG_RULES for f in rules.get(ident, [])]
    return Outcome(tuple(evidence), _missing(gaps))
