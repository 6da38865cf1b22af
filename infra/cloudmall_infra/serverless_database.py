"""RDS MySQL 8.4 behind RDS Proxy, which the functions reach with IAM authentication.

Lambda scales to many short-lived containers, each holding a connection: the proxy pools them
onto few database connections. The functions hold no password: each new connection logs in with
an IAM token (`rds-db:connect` on the proxy's user), over TLS, which the proxy requires. The
proxy itself logs in to the database with the generated secret in Secrets Manager.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from cloudmall_infra.data import (
    DATABASE_NAME,
    EXCLUDED_PASSWORD_CHARACTERS,
    MYSQL_MAJOR_VERSION,
    SERVER_PARAMETERS,
    _allow_major_only_version,
    instance_settings,
)
from cloudmall_infra.nag import acknowledge

MYSQL_PORT = 3306
DATABASE_USER = "cloudmall"
# The Lambda Python runtime's (Amazon Linux 2023) CA bundle: it holds Amazon's root CAs.
CA_BUNDLE = "/etc/pki/tls/certs/ca-bundle.crt"


class ProxiedDatabase(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        instance_type: str,
        backup_retention_days: int = 7,
    ) -> None:
        super().__init__(scope, construct_id)
        identifier = f"{Stack.of(self).stack_name.lower()}-db"
        engine = rds.DatabaseInstanceEngine.mysql(
            version=rds.MysqlEngineVersion.of(MYSQL_MAJOR_VERSION, MYSQL_MAJOR_VERSION)
        )
        self.database_security_group = ec2.SecurityGroup(
            self,
            "DatabaseSecurityGroup",
            vpc=vpc,
            description="cloudmall serverless database: MySQL from RDS Proxy only",
            allow_all_outbound=False,
        )
        self.proxy_security_group = ec2.SecurityGroup(
            self,
            "ProxySecurityGroup",
            vpc=vpc,
            description="cloudmall RDS Proxy: MySQL from the functions only",
            allow_all_outbound=False,
        )
        self.database_security_group.add_ingress_rule(
            self.proxy_security_group, ec2.Port.tcp(MYSQL_PORT), "MySQL from RDS Proxy"
        )
        self.proxy_security_group.add_egress_rule(
            self.database_security_group, ec2.Port.tcp(MYSQL_PORT), "to the database"
        )
        exports = ["error", "slowquery"]
        log_groups = [
            logs.LogGroup(
                self,
                f"Log-{name}",
                log_group_name=f"/aws/rds/instance/{identifier}/{name}",
                retention=logs.RetentionDays.ONE_MONTH,
                # named: a retained group would block the next stack of that name
                removal_policy=RemovalPolicy.DESTROY,
            )
            for name in exports
        ]
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            engine=engine,
            instance_identifier=identifier,
            instance_type=ec2.InstanceType(instance_type),
            credentials=rds.Credentials.from_generated_secret(
                DATABASE_USER, exclude_characters=EXCLUDED_PASSWORD_CHARACTERS
            ),
            database_name=DATABASE_NAME,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.database_security_group],
            port=MYSQL_PORT,
            iam_authentication=True,
            **instance_settings(backup_retention_days),
            parameter_group=rds.ParameterGroup(
                self, "Parameters", engine=engine, parameters=SERVER_PARAMETERS
            ),
            cloudwatch_logs_exports=exports,
        )
        for group in log_groups:
            self.instance.node.add_dependency(group)
        _allow_major_only_version(self.instance.node.default_child)
        assert self.instance.secret is not None
        self.secret = self.instance.secret
        self.proxy = self.instance.add_proxy(
            "Proxy",
            db_proxy_name=f"{Stack.of(self).stack_name.lower()}-proxy",
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.proxy_security_group],
            iam_auth=True,
            require_tls=True,
            debug_logging=False,
            idle_client_timeout=Duration.minutes(30),
            max_connections_percent=90,
        )
        self._acknowledge()

    def allow_from(self, peer: ec2.ISecurityGroup) -> None:
        """Let `peer` (a function's security group) reach the proxy."""
        self.proxy_security_group.add_ingress_rule(
            peer, ec2.Port.tcp(MYSQL_PORT), "MySQL (IAM auth, TLS) from a function"
        )

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """The guide's policy: `rds-db:connect` as the shop's user, through this proxy only."""
        self.proxy.grant_connect(grantee, DATABASE_USER)

    @property
    def url(self) -> str:
        """The app's URL: the proxy, the user, no password (an IAM token per connection), TLS."""
        return (
            f"mysql://{DATABASE_USER}@{self.proxy.endpoint}:{MYSQL_PORT}/{DATABASE_NAME}"
            f"?ssl_ca={CA_BUNDLE}"
        )

    def metric_proxy_connections(self) -> cloudwatch.Metric:
        """Database connections the proxy holds (near its ceiling, new clients wait)."""
        return cloudwatch.Metric(
            namespace="AWS/RDS",
            metric_name="DatabaseConnections",
            dimensions_map={"ProxyName": self.proxy.db_proxy_name},
            statistic="Maximum",
            period=Duration.minutes(1),
        )

    def _acknowledge(self) -> None:
        acknowledge(
            self.instance.node.find_child("Secret"),
            "AwsSolutions-SMG4",
            "Only RDS Proxy reads this password; the functions log in with IAM tokens. Rotating "
            "it needs the proxy's secret refreshed in the same step, an operator runbook "
            "(docs/serverless.md) rather than an unattended schedule.",
        )
        acknowledge(
            self.instance,
            "AwsSolutions-RDS11",
            "Port obscurity adds no protection here: the database sits in isolated subnets and "
            "its security group admits only RDS Proxy. The standard 3306 keeps tools working.",
        )
