"""The guide's pattern 5 (빠른 개발 환경): the shop's image on ECS Fargate, deployed by the
pipeline (ShopPipeline).

One stack per stage (staging, production): its own network, database, cache, media bucket and
Fargate service. The production stack also holds the ECR repository the pipeline pushes to.
"""

from __future__ import annotations

import json

from aws_cdk import Annotations, CfnOutput, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from cloudmall_infra.backup import Backups
from cloudmall_infra.buckets import LogBucket, private_bucket
from cloudmall_infra.cache import Cache
from cloudmall_infra.config import DeploymentConfig
from cloudmall_infra.container_config import ContainerConfig
from cloudmall_infra.container_service import FargateShop
from cloudmall_infra.data import Database
from cloudmall_infra.image import AppImage, ImageRepository, app_image
from cloudmall_infra.lake import DataLake
from cloudmall_infra.lake_export import ScheduledLakeExport
from cloudmall_infra.monitoring import AlarmTopic
from cloudmall_infra.nag import acknowledge, logical_id
from cloudmall_infra.network import Network

CPU_ALARM_PERCENT = 80
MEMORY_ALARM_PERCENT = 90
ALB_5XX_ALARM_COUNT = 10
EVALUATION_PERIODS = {
    "CpuHigh": 3,
    "MemoryHigh": 3,
    "Alb5xx": 1,
    "UnhealthyTargets": 5,
    "TooFewTasks": 5,
}


class ContainerShopStack(Stack):
    """WAF + ALB → ECS Fargate (min 2, max 10, CPU 70 %) → RDS MySQL, ElastiCache Redis, S3."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        container_config: ContainerConfig,
        stage: str,
        repository: ecr.IRepository | None = None,
        min_capacity: int = 2,
        max_capacity: int = 10,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("project", "cloudmall")
        Tags.of(self).add("pattern", "containers")
        Tags.of(self).add("stage", stage)
        self.stage = stage

        # The repository the pipeline pushes to: made here unless another stage's stack has it.
        self.repository: ecr.IRepository = repository or ImageRepository(self, "Images").repository
        image: AppImage = app_image(self, "Image", container_config.image_uri)

        network = Network(self, "Network", availability_zones=config.availability_zones)
        log_bucket = LogBucket(self, "AccessLogs").bucket
        database = Database(
            self,
            "Database",
            vpc=network.vpc,
            subnets=network.data_subnets,
            engine=config.database_engine,
            instance_type=config.db_instance_type,
        )
        cache = Cache(
            self,
            "Cache",
            vpc=network.vpc,
            subnets=network.data_subnets,
            node_type=config.cache_node_type,
        )
        media = private_bucket(self, "Media", access_logs=log_bucket, access_logs_prefix="s3/")
        backups = Backups(
            self,
            "Backups",
            access_logs=log_bucket,
            database_resources=[database.backup_resource()],
        )
        lake = DataLake(
            self, "Lake", access_logs=log_bucket, database_name=f"cloudmall_lake_{stage}"
        )
        secret_key = secretsmanager.Secret(
            self,
            "SecretKey",
            description=f"cloudmall CLOUDMALL_SECRET_KEY ({stage}, ECS)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64
            ),
        )
        acknowledge(
            secret_key,
            "AwsSolutions-SMG4",
            "Rotating the signing key logs every customer out and invalidates issued tokens; "
            "tasks read it at start. It is rotated deliberately (new value, then a forced new "
            "deployment of the service), see docs/deploy-aws.md.",
        )

        # What the lake export needs (the database and the lake); the shop needs more.
        export_environment = {
            "CLOUDMALL_ENVIRONMENT": config.environment,
            # Access tokens signed with the secret key until an Ed25519 pair is deployed
            "CLOUDMALL_TOKEN_ALGORITHM": "HS256",
            "CLOUDMALL_DATABASE_URL": database.url_without_credentials,
            "CLOUDMALL_LAKE_URL": f"s3://{lake.bucket.bucket_name}?region={self.region}",
        }
        export_secrets = {
            "CLOUDMALL_SECRET_KEY": ecs.Secret.from_secrets_manager(secret_key),
            "CLOUDMALL_DATABASE_USERNAME": ecs.Secret.from_secrets_manager(
                database.secret, "username"
            ),
            "CLOUDMALL_DATABASE_PASSWORD": ecs.Secret.from_secrets_manager(
                database.secret, "password"
            ),
        }
        environment = {
            **export_environment,
            "CLOUDMALL_CACHE_URL": cache.url_without_credentials,
            "CLOUDMALL_STORAGE_URL": f"s3://{media.bucket_name}?region={self.region}",
            "CLOUDMALL_CORS_ORIGINS": json.dumps(config.cors_origins, separators=(",", ":")),
        }
        secrets = {
            **export_secrets,
            "CLOUDMALL_CACHE_PASSWORD": ecs.Secret.from_secrets_manager(cache.auth_token),
        }
        self.shop = FargateShop(
            self,
            "Shop",
            vpc=network.vpc,
            public_subnets=network.public_subnets,
            app_subnets=network.app_subnets,
            certificate_arn=config.certificate_arn,
            access_logs=log_bucket,
            name=f"cloudmall-{stage}",
            image=image,
            environment={
                **environment,
                # The ALB's nodes live in the VPC; only they reach the tasks.
                "FORWARDED_ALLOW_IPS": network.vpc.vpc_cidr_block,
            },
            secrets=secrets,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
        )
        # Clients reach the ALB directly: by its name, or by a name the operator points at it.
        self.shop.app.add_environment(
            "CLOUDMALL_ALLOWED_HOSTS",
            ",".join([self.shop.load_balancer.load_balancer_dns_name, *config.alb_domain_names]),
        )
        task_role = self.shop.task_definition.task_role
        self._grant_objects(task_role, media, "Media")
        self._grant_objects(task_role, backups.bucket, "Backups")  # `cloudmall backup` in a task
        lake.grant_export(task_role)  # the staff overview reads the lake's headline
        database.allow_from(self.shop.task_security_group, "MySQL from the Fargate tasks")
        cache.allow_from(self.shop.task_security_group, "Redis (TLS) from the Fargate tasks")
        acknowledge(
            self.shop.task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull the image, has "
            "no resource-level permissions; the pull itself is granted on one repository.",
        )

        self.lake_export = ScheduledLakeExport(
            self,
            "LakeExport",
            cluster=self.shop.cluster,
            subnets=network.app_subnets,
            image=image,
            environment=export_environment,
            secrets=export_secrets,
            lake=lake,
            family=f"cloudmall-{stage}-lake-export",
        )
        database.allow_from(self.lake_export.security_group, "MySQL from the lake export tasks")
        acknowledge(
            self.lake_export.task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull the image, has "
            "no resource-level permissions; the pull itself is granted on one repository.",
        )

        topic = AlarmTopic(self, "Alarms", email=config.alarm_email).topic
        self.alarms = self._alarms(topic)

        if config.certificate_is_placeholder:
            Annotations.of(self).add_warning_v2(
                "cloudmall:placeholderCertificate",
                "certificate_arn is a placeholder: fine for `synth`, but a deployment needs "
                "-c certificate_arn=arn:aws:acm:<region>:<account>:certificate/<id>",
            )
        CfnOutput(self, "ShopUrl", value=self.shop.url, description="The ALB (point DNS here)")
        CfnOutput(self, "ClusterName", value=self.shop.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=self.shop.service.service_name)
        CfnOutput(self, "ImageRepositoryUri", value=self.repository.repository_uri)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn)
        CfnOutput(self, "BackupsBucket", value=backups.bucket.bucket_name)
        CfnOutput(self, "LakeBucket", value=lake.bucket.bucket_name)
        CfnOutput(self, "LakeWorkGroup", value=lake.workgroup.ref)

    def _grant_objects(self, role: iam.IRole, bucket: s3.IBucket, sid: str) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"{sid}Objects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"{sid}List", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]
            )
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket)}.Arn>/*]",
            "The app stores images under content-hash keys it makes at upload time (and "
            "`cloudmall backup` dated dumps), so the key space cannot be listed in advance; the "
            "wildcard is object keys of this one bucket, with three exact object actions.",
        )

    def _alarms(self, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        """The guide's alarms for a service, each to the topic (alarm and OK)."""
        shop = self.shop
        rules: list[tuple[str, cloudwatch.IMetric, float, str, cloudwatch.ComparisonOperator]] = [
            (
                "CpuHigh",
                shop.metric_cpu(),
                CPU_ALARM_PERCENT,
                f"Tasks' average CPU above {CPU_ALARM_PERCENT} % for 15 min",
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            (
                "MemoryHigh",
                shop.metric_memory(),
                MEMORY_ALARM_PERCENT,
                f"Tasks' memory above {MEMORY_ALARM_PERCENT} % for 15 min",
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            (
                "Alb5xx",
                shop.metric_5xx(),
                ALB_5XX_ALARM_COUNT,
                f"More than {ALB_5XX_ALARM_COUNT} 5xx answers in 5 minutes",
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            (
                "UnhealthyTargets",
                shop.metric_unhealthy_targets(),
                0,
                "A task failed /livez for 5 minutes",
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            (
                "TooFewTasks",
                shop.metric_running_tasks(),
                shop.min_capacity,
                "Fewer running tasks than the service's minimum for 5 minutes",
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            ),
        ]
        alarms = []
        action = cw_actions.SnsAction(topic)
        for construct_id, metric, threshold, description, operator in rules:
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                threshold=threshold,
                evaluation_periods=EVALUATION_PERIODS[construct_id],
                comparison_operator=operator,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"cloudmall ({self.stage}, ECS): {description}",
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            alarms.append(alarm)
        return alarms
