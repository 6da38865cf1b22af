"""Schema migrations once per deployment: a one-off migrator instance, before the group rolls.

Why an instance, not a step of every app instance's boot: a new instance that migrates at boot
changes the schema under the old instances mid-deploy, every scale-out repeats it, and a rollback
boots old code that cannot migrate "back". Why not a Lambda custom resource: the migrations need
the app and its database driver, i.e. the same artifact the instances run; the migrator boots
exactly that artifact, with the same settings, role and security group.

How: an EC2 instance whose construct ID (so its logical ID) carries a hash of its boot script,
which names the release's source asset (by its content hash) and every setting. A new release is
a new resource: CloudFormation creates it, it runs ``cloudmall migrate`` and signals, and only
then (the group depends on it) does the rolling update start. It powers off, which terminates it;
the next deployment's cleanup deletes the previous release's resource. Nothing changes when the
boot script does not: no migrator runs, and CloudFormation never updates a terminated instance
in place (a newer AMI replaces it: one more, harmless, migrator run).

Migrations are expand/contract (docs/deploy-aws.md), so the old release keeps serving on the
migrated schema during the roll, and after a rollback.
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import CfnCreationPolicy, CfnResourceSignal, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from cloudmall_infra.nag import acknowledge

MIGRATOR_INSTANCE_TYPE = "t3.small"
MIGRATION_TIMEOUT = "PT30M"


def release_of(scope: Construct, user_data: ec2.UserData) -> str:
    """16 hex digits of the boot script as CloudFormation will see it (references resolved to
    logical IDs; the source asset's key is its content hash)."""
    stack = Stack.of(scope)
    # the stack's name too: CDK names the instance's IMDSv2 launch template after this ID, and
    # launch template names are unique in an account and region
    text = json.dumps([stack.stack_name, stack.resolve(user_data.render())], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class SchemaMigration(Construct):
    """The migrator of the release ``user_data`` boots: one instance, once."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        role: iam.IRole,
        user_data: ec2.UserData,
    ) -> None:
        super().__init__(scope, construct_id)
        self.release = release_of(self, user_data)  # before the exit trap names the instance
        self.instance = ec2.Instance(
            self,
            f"Migrator{self.release}",
            vpc=vpc,
            vpc_subnets=subnets,
            instance_type=ec2.InstanceType(MIGRATOR_INSTANCE_TYPE),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            security_group=security_group,
            role=role,
            user_data=user_data,
            require_imdsv2=True,
            instance_initiated_shutdown_behavior=ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        30,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        cfn_instance = self.instance.instance
        cfn_instance.cfn_options.creation_policy = CfnCreationPolicy(
            resource_signal=CfnResourceSignal(count=1, timeout=MIGRATION_TIMEOUT)
        )
        user_data.add_signal_on_exit_command(self.instance)
        acknowledge(
            self.instance,
            "AwsSolutions-EC28",
            "A one-off migrator that runs for minutes per deployment and then terminates "
            "itself; its boot log goes to the app's log group. Detailed monitoring would "
            "only bill minute metrics for an instance nobody watches.",
        )
        acknowledge(
            self.instance,
            "AwsSolutions-EC29",
            "The migrator must terminate itself when the migration is done (its shutdown "
            "behaviour is terminate); termination protection would keep it running and billed.",
        )
