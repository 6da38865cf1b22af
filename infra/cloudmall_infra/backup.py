"""The guide's backup pattern: storage classes by age for dumps, AWS Backup for the database, and
a daily ``cloudmall backup create`` + ``prune`` into the private backups bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from cloudmall_infra.buckets import private_bucket
from cloudmall_infra.nag import acknowledge
from cloudmall_infra.restore_tests import RestoreTests

STANDARD_IA_AFTER_DAYS = 30
GLACIER_AFTER_DAYS = 90
DATABASE_BACKUP_RETENTION_DAYS = 35
# `cloudmall backup prune`: dailies for a month, then weeklies for half a year (the bucket's
# lifecycle moves them to Standard-IA and Glacier meanwhile).
KEEP_DAILY = 35
KEEP_WEEKLY = 26
METRIC_NAMESPACE = "cloudmall"
BACKUP_METRIC = "BackupsSucceeded"


class Backups(Construct):
    """A backups bucket (Standard → Standard-IA after 30 days → Glacier after 90) for
    ``cloudmall backup`` dumps, a daily AWS Backup plan (35 days) for the database, and a
    weekly restore test of it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs: s3.IBucket,
        database_resources: Sequence[backup.BackupResource],
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self,
            "Bucket",
            access_logs=access_logs,
            access_logs_prefix="s3/backups/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="storage-class-by-age",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(STANDARD_IA_AFTER_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(GLACIER_AFTER_DAYS),
                        ),
                    ],
                    noncurrent_version_expiration=Duration.days(GLACIER_AFTER_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        self.vault = backup.BackupVault(self, "Vault", removal_policy=RemovalPolicy.RETAIN)
        self.plan = backup.BackupPlan(self, "Plan", backup_vault=self.vault)
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="daily-35-days",
                schedule_expression=events.Schedule.cron(hour="18", minute="30"),  # 03:30 KST
                start_window=Duration.hours(1),
                completion_window=Duration.hours(4),
                delete_after=Duration.days(DATABASE_BACKUP_RETENTION_DAYS),
            )
        )
        selection = self.plan.add_selection(
            "Database", resources=list(database_resources), allow_restores=False
        )
        self.restore_tests = RestoreTests(
            self, "RestoreTests", vault=self.vault, database_resources=database_resources
        )
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
            "The role AWS Backup assumes to snapshot the database; this AWS managed service-role "
            "policy is what AWS Backup documents for it and is kept current by AWS.",
        )


def backup_script(*, group_name: str, region: str, cloudmall: str, env_file: str) -> list[str]:
    """What Run Command runs on every instance of the group; only the first InService one (by
    instance ID) backs up, so the shop gets one backup a day however many instances it has."""
    imds = "http://169.254.169.254/latest"
    run = (
        "systemd-run --wait --pipe --collect --quiet --uid=cloudmall --gid=cloudmall "
        f"-p EnvironmentFile={env_file} -p WorkingDirectory=/var/lib/cloudmall {cloudmall}"
    )
    return [
        "set -euo pipefail",
        f"token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {imds}/api/token)",
        f'me=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" {imds}/meta-data/instance-id)',
        f"first=$(aws autoscaling describe-auto-scaling-groups --region {region} "
        f'--auto-scaling-group-names {group_name} --query "sort(AutoScalingGroups[0].'
        "Instances[?LifecycleState=='InService'].InstanceId)[0]\" --output text)",
        'if [ "$me" != "$first" ]; then echo "the backup runs on $first"; exit 0; fi',
        f"{run} backup create",
        f"{run} backup prune --keep-daily {KEEP_DAILY} --keep-weekly {KEEP_WEEKLY}",
        f"aws cloudwatch put-metric-data --region {region} --namespace {METRIC_NAMESPACE} "
        f"--metric-name {BACKUP_METRIC} --value 1",
    ]


class BackupSchedule(Construct):
    """Every night EventBridge has SSM Run Command run :func:`backup_script` on the app group;
    an alarm goes off when a day passes without a successful backup (failed or never ran)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        cloudmall: str,
        env_file: str,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        document_arn = stack.format_arn(
            service="ssm", account="", resource="document", resource_name="AWS-RunShellScript"
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="cloudmall: EventBridge runs the nightly backup with SSM Run Command",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["ssm:SendCommand"], resources=[document_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ssm:SendCommand"],
                resources=[stack.format_arn(service="ec2", resource="instance", resource_name="*")],
                conditions={
                    "StringEquals": {"aws:ResourceTag/aws:autoscaling:groupName": group_name}
                },
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:"
            f"{stack.region}:{stack.account}:instance/*]",
            "Instances of an Auto Scaling group come and go, so their IDs cannot be listed; the "
            "condition limits SendCommand to instances tagged with this group's name.",
        )
        script = backup_script(
            group_name=group_name, region=stack.region, cloudmall=cloudmall, env_file=env_file
        )
        self.rule = events.CfnRule(
            self,
            "Nightly",
            description="cloudmall: nightly `cloudmall backup create` and `prune`",
            schedule_expression="cron(0 17 * * ? *)",  # 02:00 KST, before AWS Backup's window
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id="RunCommand",
                    arn=document_arn,
                    role_arn=role.role_arn,
                    input=stack.to_json_string({"commands": script}),
                    run_command_parameters=events.CfnRule.RunCommandParametersProperty(
                        run_command_targets=[
                            events.CfnRule.RunCommandTargetProperty(
                                key="tag:aws:autoscaling:groupName", values=[group_name]
                            )
                        ]
                    ),
                )
            ],
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "NoBackup",
            metric=cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=BACKUP_METRIC,
                statistic="Sum",
                period=Duration.days(1),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description="cloudmall: no successful `cloudmall backup create` in a day",
        )
        action = cw_actions.SnsAction(topic)
        self.alarm.add_alarm_action(action)
        self.alarm.add_ok_action(action)
