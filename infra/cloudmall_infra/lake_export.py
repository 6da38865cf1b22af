"""`cloudmall lake export` as a scheduled Fargate task (docs/lake.md): EventBridge Scheduler runs
the shop's image every few minutes with the shop's settings; the task moves the outbox's
waiting events to the lake and ends.

Two runs at once (a slow one still going when the next starts) are safe: an event claimed by one
run is refused to the other (the outbox's unique claim per consumer and event), and a batch left
unfinished is written again under the same names with the same bytes.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from constructs import Construct

from cloudmall_infra.fargate_task import ShopTask, with_ca_bundle
from cloudmall_infra.image import AppImage
from cloudmall_infra.lake import DataLake

#: A Fargate task takes about a minute to pull and start, and is billed a minute at least: a
#: few minutes apart keeps the lake minutes behind the shop for a few dollars a month.
EXPORT_EVERY = Duration.minutes(5)
EXPORT_CONTAINER = "lake-export"
EXPORT_COMMAND = with_ca_bundle("cloudmall lake export")


class ScheduledLakeExport(Construct):
    """A one-container task definition running `cloudmall lake export`, its own security group
    (no ingress; the caller lets it reach the database), logs kept a month, and the schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        subnets: ec2.SubnetSelection,
        image: AppImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        lake: DataLake,
        family: str,
    ) -> None:
        super().__init__(scope, construct_id)
        task = ShopTask(
            self,
            family=family,
            image=image,
            cpu=512,
            memory_mib=1024,  # a batch of 20,000 events as Arrow tables
            environment_reason=(
                "The plain settings (URLs without credentials, environment name) are environment "
                "variables on purpose: they are not secret. Every credential is an ECS secret from "
                "Secrets Manager."
            ),
        )
        self.task_definition = task.definition
        self.container = task.add_container(
            EXPORT_CONTAINER, environment=environment, secrets=secrets, command=EXPORT_COMMAND
        )
        lake.grant_export(self.task_definition.task_role)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=cluster.vpc,
            description="cloudmall lake export tasks: no ingress",
            allow_all_outbound=True,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="cloudmall lake export: the outbox's events to the data lake",
            schedule=scheduler.ScheduleExpression.rate(EXPORT_EVERY),
            target=scheduler_targets.EcsRunFargateTask(
                cluster,
                task_definition=self.task_definition,
                vpc_subnets=subnets,
                security_groups=[self.security_group],
                assign_public_ip=False,
                # a run that could not start is not worth retrying once the next one is due
                max_event_age=EXPORT_EVERY,
                retry_attempts=3,
            ),
        )
