"""The guide's 복구 테스트: AWS Backup restores the database every week and checks it came up."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from constructs import Construct

from cloudmall_infra.nag import acknowledge

# Mondays 05:00 KST: the newest snapshot of the last week is restored, checked, then deleted.
SCHEDULE = "cron(0 20 ? * SUN *)"
SELECTION_WINDOW_DAYS = 7
VALIDATION_WINDOW_HOURS = 1


def _protected_resource_type(arn: Any) -> str:
    """Restore testing's name for what the ARN (as CloudFormation will build it) points at."""
    text = json.dumps(arn)
    if ":cluster:" in text:
        return "Aurora"
    if ":db:" in text:
        return "RDS"
    raise ValueError(f"RestoreTests handles RDS instances and Aurora clusters, not {text}")


class RestoreTests(Construct):
    """A restore testing plan over ``vault`` and a selection of the databases it backs up.

    AWS Backup restores the newest recovery point into a temporary database with the original's
    settings, marks the job successful when the database becomes available, and deletes it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vault: backup.IBackupVault,
        database_resources: Sequence[backup.BackupResource],
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"{Stack.of(self).stack_name.replace('-', '_')}_database_restore_test"
        self.plan = backup.CfnRestoreTestingPlan(
            self,
            "Plan",
            restore_testing_plan_name=name,
            schedule_expression=SCHEDULE,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.backup_vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=SELECTION_WINDOW_DAYS,
            ),
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSBackupServiceRolePolicyForRestores"
                )
            ],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForRestores]",
            "The role AWS Backup assumes to restore the test copy of the database; this AWS "
            "managed service-role policy is what AWS Backup documents for restores.",
        )
        stack = Stack.of(self)
        (kind,) = {_protected_resource_type(stack.resolve(r.resource)) for r in database_resources}
        self.selection = backup.CfnRestoreTestingSelection(
            self,
            "Database",
            restore_testing_plan_name=self.plan.restore_testing_plan_name,
            restore_testing_selection_name="database",
            iam_role_arn=role.role_arn,
            protected_resource_type=kind,
            protected_resource_arns=[str(r.resource) for r in database_resources],
            validation_window_hours=VALIDATION_WINDOW_HOURS,
        )
        self.selection.node.add_dependency(self.plan)
