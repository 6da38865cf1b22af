"""The guide's shopping-mall project: the 3-tier pattern, Multi-AZ, with autoscaling."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Annotations, CfnOutput, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cloudmall_infra.app_role import AppRole
from cloudmall_infra.app_settings import AppSettings
from cloudmall_infra.backup import Backups, BackupSchedule
from cloudmall_infra.buckets import LogBucket
from cloudmall_infra.cache import Cache
from cloudmall_infra.cdn import (
    MEDIA_PREFIX,
    VIEWER_ADDRESS_HEADER,
    MediaCdn,
    origin_verify_secret,
)
from cloudmall_infra.config import DeploymentConfig
from cloudmall_infra.data import RDS_CA_BUNDLE, RDS_CA_BUNDLE_URL, Database
from cloudmall_infra.lake import DataLake
from cloudmall_infra.migration import SchemaMigration
from cloudmall_infra.monitoring import AlarmTopic, Monitoring
from cloudmall_infra.network import Network
from cloudmall_infra.user_data import (
    CLOUDMALL_BIN,
    ENV_FILE,
    app_instance_user_data,
)
from cloudmall_infra.web_tier import LAUNCH_HOOK_NAME, WebTier


class ShoppingMallStack(Stack):
    """CloudFront + S3 for images and the storefront, WAF + ALB in front of an Auto Scaling
    group of stateless app servers, ElastiCache Redis, RDS MySQL Multi-AZ, CloudWatch + SNS.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        static_dir: Path,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("project", "cloudmall")
        Tags.of(self).add("pattern", "3-tier")
        region = self.region

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
        backups = Backups(
            self,
            "Backups",
            access_logs=log_bucket,
            database_resources=[database.backup_resource()],
        )
        topic = AlarmTopic(self, "Alarms", email=config.alarm_email)
        # CloudFront fronts the shop unless the ALB is internal (the intranet pattern).
        origin_verify = None if config.internal_alb else origin_verify_secret(self, "OriginVerify")

        lake = DataLake(self, "Lake", access_logs=log_bucket)

        settings = AppSettings(self, "Settings", environment=config.environment)
        settings.add_parameter(
            "CLOUDMALL_LAKE_URL", f"s3://{lake.bucket.bucket_name}?region={region}"
        )
        settings.add_parameter("CLOUDMALL_DATABASE_URL", database.url_without_credentials)
        settings.add_url_credentials("CLOUDMALL_DATABASE_URL", database.secret, json_secret=True)
        settings.add_parameter("CLOUDMALL_CACHE_URL", cache.url_without_credentials)
        settings.add_url_credentials("CLOUDMALL_CACHE_URL", cache.auth_token, json_secret=False)
        # backups never go to the media bucket (CloudFront serves its media/ prefix)
        settings.add_parameter(
            "CLOUDMALL_BACKUP_STORAGE_URL", f"s3://{backups.bucket.bucket_name}?region={region}"
        )

        role = AppRole(self, "AppRole", description="cloudmall app instances (3-tier)")
        role.grant_objects(backups.bucket, "Backups")
        lake.grant_export(role.role)

        # Filled once every setting exists (the CDN's URL needs the load balancer).
        user_data = ec2.UserData.for_linux()
        migrator_user_data = ec2.UserData.for_linux()
        web = WebTier(
            self,
            "Web",
            vpc=network.vpc,
            public_subnets=network.public_subnets,
            app_subnets=network.app_subnets,
            certificate_arn=config.certificate_arn,
            access_logs=log_bucket,
            instance_type=config.app_instance_type,
            user_data=user_data,
            role=role.role,
            notifications_topic=topic.topic,
            origin_verify=origin_verify,
            internet_facing=not config.internal_alb,
            ingress_cidr=(config.intranet_cidr or network.cidr) if config.internal_alb else None,
        )
        cdn = MediaCdn(
            self,
            "Media",
            access_logs=log_bucket,
            static_dir=static_dir,
            domain_name=config.cdn_domain_name,
            certificate_arn=config.cdn_certificate_arn,
            load_balancer_domain=(
                None if config.internal_alb else web.load_balancer.load_balancer_dns_name
            ),
            origin_verify=origin_verify,
        )
        # The app stores its images under media/, the prefix CloudFront serves as /media/*.
        settings.add_parameter(
            "CLOUDMALL_STORAGE_URL",
            f"s3://{cdn.bucket.bucket_name}/{MEDIA_PREFIX}?region={region}",
        )
        cdn_base_url = (
            f"https://{config.cdn_domain_name}" if config.cdn_domain_name else cdn.base_url
        )
        settings.add_parameter("CLOUDMALL_CDN_BASE_URL", cdn_base_url)
        cors_origins = config.cors_origins or [cdn_base_url]
        settings.add_parameter(
            "CLOUDMALL_CORS_ORIGINS", json.dumps(cors_origins, separators=(",", ":"))
        )
        settings.add_parameter("CLOUDMALL_ALLOWED_HOSTS", ",".join(app_hosts(config, web, cdn)))
        if origin_verify is not None:
            # every request comes through CloudFront (the ALB refuses others): trust its header
            settings.add_parameter("CLOUDMALL_CLIENT_ADDRESS_HEADER", VIEWER_ADDRESS_HEADER)
        settings.grant_read(role.role)
        role.grant_objects(cdn.bucket, "Media")
        app_instance_user_data(
            self,
            boot_config=settings.boot_config(region=region, env_file=ENV_FILE),
            role=role.role,
            port=8000,
            in_auto_scaling_group=True,
            # The ALB's nodes live in the VPC, and only the ALB may reach port 8000.
            trusted_proxies=network.vpc.vpc_cidr_block,
            launch_hook_name=LAUNCH_HOOK_NAME,
            downloads={RDS_CA_BUNDLE: RDS_CA_BUNDLE_URL},  # the database URL's ssl_ca
            into=user_data,
            migrator=migrator_user_data,  # the instances never migrate: once per deployment
            lake_export=True,
        )
        migration = SchemaMigration(
            self,
            "SchemaMigration",
            vpc=network.vpc,
            subnets=network.app_subnets,
            security_group=web.app_security_group,
            role=role.role,
            user_data=migrator_user_data,
        )
        migration.node.add_dependency(settings)
        # both boot with dnf and pip through the NAT gateways: wait for the default routes
        egress = network.vpc.select_subnets(
            subnet_group_name=network.app_subnets.subnet_group_name
        ).internet_connectivity_established
        migration.node.add_dependency(egress)
        web.auto_scaling_group.node.add_dependency(egress)
        # the group rolls (or is created) only once this release's migrations have run
        web.auto_scaling_group.node.add_dependency(migration)
        BackupSchedule(
            self,
            "BackupSchedule",
            group_name=web.auto_scaling_group.auto_scaling_group_name,
            cloudmall=CLOUDMALL_BIN,
            env_file=ENV_FILE,
            topic=topic.topic,
        )
        network.allow_endpoints_from(web.app_security_group)
        database.allow_from(web.app_security_group, "MySQL from the app tier")
        cache.allow_from(web.app_security_group, "Redis (TLS) from the app tier")
        # the instances boot only once the settings they read exist
        web.auto_scaling_group.node.add_dependency(settings)

        Monitoring(
            self,
            "Monitoring",
            web=web,
            database=database,
            cache=cache,
            topic=topic.topic,
            dashboard_name=f"cloudmall-{self.stack_name}",
        )

        if config.certificate_is_placeholder:
            Annotations.of(self).add_warning_v2(
                "cloudmall:placeholderCertificate",
                "certificate_arn is a placeholder: fine for `synth`, but a deployment needs "
                "-c certificate_arn=arn:aws:acm:<region>:<account>:certificate/<id>",
            )
        if not config.alarm_email:
            Annotations.of(self).add_warning_v2(
                "cloudmall:noAlarmEmail",
                "no alarm_email in context: alarms go to the SNS topic with no subscriber",
            )

        if config.internal_alb:
            CfnOutput(self, "ShopUrl", value=web.url, description="The internal ALB")
        else:
            CfnOutput(
                self,
                "ShopUrl",
                value=cdn_base_url,
                description="CloudFront in front of the ALB (point your DNS here)",
            )
        CfnOutput(self, "CdnBaseUrl", value=cdn_base_url)
        CfnOutput(self, "MediaBucket", value=cdn.bucket.bucket_name)
        CfnOutput(self, "BackupsBucket", value=backups.bucket.bucket_name)
        CfnOutput(self, "LakeBucket", value=lake.bucket.bucket_name)
        CfnOutput(self, "LakeWorkGroup", value=lake.workgroup.ref)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
        CfnOutput(self, "SettingsPath", value=settings.prefix)
        CfnOutput(self, "DatabaseSecretArn", value=database.secret.secret_arn)


def app_hosts(config: DeploymentConfig, web: WebTier, cdn: MediaCdn) -> list[str]:
    """The ``Host`` names that reach the app (``CLOUDMALL_ALLOWED_HOSTS``).

    Behind CloudFront the origin request policy forwards the viewer's ``Host``: the
    distribution's name or its alternate domain (the ALB refuses requests without the
    origin-verify header). An internal ALB is reached by its own name or names pointed at it.
    """
    if config.internal_alb:
        return [web.load_balancer.load_balancer_dns_name, *config.alb_domain_names]
    hosts = [cdn.distribution.domain_name]
    if config.cdn_domain_name:
        hosts.append(config.cdn_domain_name)
    return hosts
