"""The guide's 보안 체크리스트, account side: deployed once per account and region."""

from __future__ import annotations

from aws_cdk import Annotations, CfnOutput, Stack, Tags
from constructs import Construct

from cloudmall_infra.audit_trail import AuditLogBucket, AuditTrail
from cloudmall_infra.buckets import LogBucket
from cloudmall_infra.config import DeploymentConfig
from cloudmall_infra.config_rules import ConfigAudit
from cloudmall_infra.monitoring import AlarmTopic
from cloudmall_infra.password_policy import AccountPasswordPolicy
from cloudmall_infra.threat_detection import ThreatDetection


class SecurityBaselineStack(Stack):
    """CloudTrail (all regions, validated, to an encrypted versioned bucket), GuardDuty with
    findings to the alarm topic, AWS Config with the checklist's rules, the IAM password
    policy and an alarm on root-account use.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("project", "cloudmall")
        Tags.of(self).add("pattern", "security-baseline")

        topic = AlarmTopic(self, "Alarms", email=config.alarm_email)
        access_logs = LogBucket(self, "AccessLogs").bucket
        audit_logs = AuditLogBucket(self, "AuditLogs", access_logs=access_logs)
        trail = AuditTrail(self, "Audit", bucket=audit_logs, topic=topic.topic)
        ThreatDetection(self, "ThreatDetection", topic=topic.topic, topic_key=topic.key)
        ConfigAudit(self, "Config", bucket=audit_logs)
        AccountPasswordPolicy(self, "PasswordPolicy")

        if not config.alarm_email:
            Annotations.of(self).add_warning_v2(
                "cloudmall:noAlarmEmail",
                "no alarm_email in context: GuardDuty findings and the root-use alarm go to an "
                "SNS topic with no subscriber",
            )

        CfnOutput(self, "AuditLogsBucket", value=audit_logs.bucket.bucket_name)
        CfnOutput(self, "TrailArn", value=trail.trail.trail_arn)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
