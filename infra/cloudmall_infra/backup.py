"""The guide's backup pattern: storage classes by age for dumps, AWS Backup for the database."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudmall_infra.buckets import private_bucket
from cloudmall_infra.nag import acknowledge
from cloudmall_infra.restore_tests import RestoreTests

STANDARD_IA_AFTER_DAYS = 30
GLACIER_AFTER_DAYS = 90
DATABASE_BACKUP_RETENTION_DAYS = 35


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
        database_resource: backup.BackupResource,
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
            "Database", resources=[database_resource], allow_restores=False
        )
        self.restore_tests = RestoreTests(
            self, "RestoreTests", vault=self.vault, database_resource=database_resource
        )
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
            "The role AWS Backup assumes to snapshot the database; this AWS managed service-role "
            "policy is what AWS Backup documents for it and is kept current by AWS.",
        )
