"""The guide's pattern 6 (서버리스 아키텍처): CloudFront + S3, API Gateway's HTTP API, three Lambda
functions (log-in, data reads, payment) in the VPC, RDS Proxy with IAM auth, RDS MySQL 8.4."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Stack, Tags
from aws_cdk import aws_backup as backup
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cloudmall_infra.backup import Backups
from cloudmall_infra.buckets import LogBucket
from cloudmall_infra.cdn import _bucket_deployment_findings
from cloudmall_infra.config import DEFAULT_DB_INSTANCE_TYPES, DeploymentConfig
from cloudmall_infra.functions import ShopFunctions
from cloudmall_infra.http_api import ShopApi
from cloudmall_infra.monitoring import AlarmTopic
from cloudmall_infra.nag import acknowledge, logical_id
from cloudmall_infra.serverless_cdn import (
    MEDIA_PREFIX,
    ServerlessCdn,
    api_origin_secret,
    shop_bucket,
)
from cloudmall_infra.serverless_database import ProxiedDatabase
from cloudmall_infra.serverless_monitoring import ServerlessAlarms
from cloudmall_infra.serverless_network import ServerlessNetwork
from cloudmall_infra.serverless_table import ShopTable


class ServerlessShopStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        static_dir: Path,
        code_dir: Path,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # CloudFormation's DBProxyTargetGroup takes no tags.
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("project", "cloudmall", exclude_resource_types=untaggable)
        Tags.of(self).add("pattern", "serverless", exclude_resource_types=untaggable)
        on_dynamodb = config.serverless_database == "dynamodb"
        network = ServerlessNetwork(
            self, "Network", availability_zones=config.availability_zones, dynamodb=on_dynamodb
        )
        log_bucket = LogBucket(self, "AccessLogs").bucket
        database: ProxiedDatabase | ShopTable
        if on_dynamodb:
            # Point-in-time recovery is the table's backup (35 days, to the second).
            database = ShopTable(self, "Table")
        else:
            database = ProxiedDatabase(
                self,
                "Database",
                vpc=network.vpc,
                subnets=network.subnets,
                # RDS MySQL whatever the 3-tier stack's engine: an Aurora size is not an RDS one.
                instance_type=(
                    DEFAULT_DB_INSTANCE_TYPES["mysql"]
                    if config.is_aurora
                    else config.db_instance_type
                ),
            )
            # AWS Backup with restore tests, as for the 3-tier database.
            Backups(
                self,
                "Backups",
                access_logs=log_bucket,
                database_resources=[
                    backup.BackupResource.from_rds_database_instance(database.instance)
                ],
            )
        signing_key = secretsmanager.Secret(
            self,
            "SigningKey",
            description="cloudmall: the key access tokens are signed with",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        acknowledge(
            signing_key,
            "AwsSolutions-SMG4",
            "Rotating the token signing key logs every customer out; it is rotated by an "
            "operator (put a new value, redeploy) when needed, not on a schedule.",
        )
        origin_verify = api_origin_secret(self)
        smtp_url = secretsmanager.Secret(
            self,
            "SmtpUrl",
            description="cloudmall: the mail function's SMTP URL with its log-in "
            "(smtp://USER:PASSWORD@email-smtp.REGION.amazonaws.com:587?starttls=true); "
            "generated as a placeholder, put the real one after the first deploy",
        )
        acknowledge(
            smtp_url,
            "AwsSolutions-SMG4",
            "The SMTP log-in is SES's SMTP credentials (an IAM user's derived password), "
            "issued and rotated by an operator who then puts the new URL here; Secrets "
            "Manager cannot rotate them.",
        )
        # The bucket first: its name goes into the functions' settings; CloudFront comes after
        # the API, whose domain is its /api/* origin.
        bucket = shop_bucket(self, log_bucket)
        functions = ShopFunctions(
            self,
            "Functions",
            code_dir=code_dir,
            vpc=network.vpc,
            subnets=network.subnets,
            database=database,
            media_bucket=bucket,
            media_prefix=MEDIA_PREFIX,
            signing_key=signing_key,
            origin_verify=origin_verify,
            environment=config.environment,
            snap_start=config.snap_start,
        )
        api = ShopApi(self, "Api", functions=dict(functions.entrypoints))
        # CloudFront forwards every viewer header but Host, so the API's own name reaches the app.
        for function in functions.functions.values():
            function.add_environment("CLOUDMALL_ALLOWED_HOSTS", api.domain)
        if functions.migrate is not None:
            for function in functions.functions.values():
                function.node.add_dependency(functions.migrate)  # the schema before the traffic
        cdn = ServerlessCdn(
            self,
            "Cdn",
            bucket=bucket,
            static_dir=static_dir,
            api_domain=api.domain,
            access_logs=log_bucket,
            origin_verify=origin_verify,
        )
        # After CloudFront: the mails' links start with its address.
        functions.add_mailer(
            smtp_url=smtp_url, public_url=f"https://{cdn.distribution.domain_name}"
        )
        self._acknowledge_storefront_deployment(cdn, logical_id(bucket))
        topic = AlarmTopic(self, "Alarms", email=config.alarm_email)
        ServerlessAlarms(
            self,
            "Monitoring",
            functions=dict(functions.functions),
            database=database,
            topic=topic.topic,
        )
        CfnOutput(self, "ShopUrl", value=f"https://{cdn.distribution.domain_name}")
        CfnOutput(self, "ApiUrl", value=api.api.api_endpoint)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)

    def _acknowledge_storefront_deployment(self, cdn: ServerlessCdn, bucket_id: str) -> None:
        """CDK's BucketDeployment handler: the same findings as the 3-tier stack's storefront."""
        assets_bucket = (
            DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
                "${Qualifier}",
                self.synthesizer.bootstrap_qualifier or DefaultStackSynthesizer.DEFAULT_QUALIFIER,
            )
            .replace("${AWS::AccountId}", self.account)
            .replace("${AWS::Region}", self.region)
        )
        findings = _bucket_deployment_findings(media_bucket=bucket_id, assets_bucket=assets_bucket)
        for finding, reason in findings.items():
            acknowledge(cdn.deployment.handler_role, finding, reason)
        for child in self.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(
                    child,
                    "AwsSolutions-L1",
                    "CDK's BucketDeployment handler: its runtime is pinned by aws-cdk-lib and "
                    "moves forward with CDK upgrades; it runs only during deployments.",
                )
