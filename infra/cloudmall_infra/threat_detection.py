"""GuardDuty for the account and region, its findings sent to the alarm topic."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

# GuardDuty severities: 4.0-6.9 medium, 7.0-8.9 high, 9.0+ critical; low ones stay in the console.
MIN_NOTIFIED_SEVERITY = 4


class ThreatDetection(Construct):
    """A GuardDuty detector (one per account and region) and an EventBridge rule that sends
    medium-or-worse findings to ``topic``, whose key must let EventBridge encrypt.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, topic_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.detector = guardduty.CfnDetector(
            self, "Detector", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES"
        )
        self.findings = events.Rule(
            self,
            "Findings",
            description="cloudmall: GuardDuty findings of medium severity or worse",
            event_pattern=events.EventPattern(
                source=["aws.guardduty"],
                detail_type=["GuardDuty Finding"],
                detail={"severity": [{"numeric": [">=", MIN_NOTIFIED_SEVERITY]}]},
            ),
            targets=[targets.SnsTopic(topic)],
        )
        topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToPublish",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
