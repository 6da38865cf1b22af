"""The account's API log: a multi-region CloudTrail trail, its bucket, and a root-use alarm."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

# CIS AWS Foundations 1.7 / 4.3: root activity that is not an AWS service acting for the account.
ROOT_USE_PATTERN = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }'
)
AUDIT_LOG_GLACIER_AFTER_DAYS = 90
AUDIT_LOG_RETENTION_DAYS = 730


class AuditLogBucket(Construct):
    """Where CloudTrail and AWS Config deliver: SSE-KMS with its own rotating key, versioned,
    TLS-only, access-logged, Glacier after 90 days and deleted after two years.
    """

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.key = kms.Key(
            self,
            "Key",
            description="cloudmall audit logs (CloudTrail, AWS Config)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for service in ("cloudtrail.amazonaws.com", "config.amazonaws.com"):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{service.split('.', 1)[0].capitalize()}ToEncrypt",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey"],
                    resources=["*"],  # in a key policy, "*" means this key
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="s3/audit-logs/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="audit-log-retention",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(AUDIT_LOG_GLACIER_AFTER_DAYS),
                        )
                    ],
                    expiration=Duration.days(AUDIT_LOG_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(AUDIT_LOG_GLACIER_AFTER_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )


class AuditTrail(Construct):
    """A multi-region trail with log-file validation, also sent to CloudWatch Logs, where a
    metric filter counts root-account use and an alarm tells the topic at the first one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: AuditLogBucket,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "TrailLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            bucket=bucket.bucket,
            s3_key_prefix="cloudtrail",
            encryption_key=bucket.key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.ALL,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=self.log_group,
        )
        root_use = logs.MetricFilter(
            self,
            "RootUse",
            log_group=self.log_group,
            metric_namespace="cloudmall/Security",
            metric_name="RootAccountUse",
            filter_pattern=logs.FilterPattern.literal(ROOT_USE_PATTERN),
            metric_value="1",
            default_value=0,
        )
        self.root_use_alarm = cloudwatch.Alarm(
            self,
            "RootUseAlarm",
            metric=root_use.metric(statistic="Sum", period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="cloudmall: the root account was used (CloudTrail)",
        )
        self.root_use_alarm.add_alarm_action(cw_actions.SnsAction(topic))
