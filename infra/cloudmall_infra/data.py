"""The order/user/product database: RDS MySQL 8.4 LTS Multi-AZ, or Aurora MySQL on request.

Credentials are generated into Secrets Manager; the only way in is the app tier's security group,
and the server refuses connections without TLS (``require_secure_transport``): the app's URL names
the RDS CA bundle, so asyncmy verifies the server's certificate and host name.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from cloudmall_infra.nag import acknowledge

DATABASE_NAME = "cloudmall"
MYSQL_PORT = 3306
# Characters that would need escaping in a URL or a shell line; the boot script URL-encodes the
# password anyway, this just keeps the generated value boring.
EXCLUDED_PASSWORD_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"  # noqa: S105 - not a password

# The major version only: RDS picks its current minor and upgrades minors itself
# (auto_minor_version_upgrade), so the template never names a minor that RDS has retired.
MYSQL_MAJOR_VERSION = "8.4"
# Where the boot script puts the RDS CA bundle (the global one, every region's roots).
RDS_CA_BUNDLE = "/etc/cloudmall/rds-ca.pem"
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

SERVER_PARAMETERS = {
    # the guide's "DB 알람: 느린 쿼리 탐지": log statements slower than one second
    "slow_query_log": "1",
    "long_query_time": "1",
    "log_output": "FILE",
    # no plaintext connections, whatever a client asks for
    "require_secure_transport": "1",
}
# One line of every slow-log entry: ``# Query_time: 1.234  Lock_time: ...``
SLOW_QUERY_FILTER = '"# Query_time:"'


def instance_settings(backup_retention_days: int) -> dict[str, Any]:
    """What every RDS instance of the shop's stacks shares: Multi-AZ, encrypted gp3 storage that
    grows to 100 GB, nightly backups (02:00-03:00 KST) kept `backup_retention_days`, deletion
    protection, a snapshot on removal, private."""
    return {
        "multi_az": True,
        "storage_encrypted": True,
        "storage_type": rds.StorageType.GP3,
        "allocated_storage": 20,
        "max_allocated_storage": 100,
        "backup_retention": Duration.days(backup_retention_days),
        "preferred_backup_window": "17:00-18:00",  # 02:00-03:00 KST
        "deletion_protection": True,
        "removal_policy": RemovalPolicy.SNAPSHOT,
        "auto_minor_version_upgrade": True,
        "publicly_accessible": False,
        "copy_tags_to_snapshot": True,
    }


class Database(Construct):
    """The database tier. ``engine`` is ``mysql`` (the guide's RDS MySQL Multi-AZ) or
    ``aurora-mysql`` (the guide's high-performance pattern: a writer and a reader in two zones).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        engine: str = "mysql",
        instance_type: str = "t3.small",
        backup_retention_days: int = 7,
        identifier: str | None = None,
        database_name: str = DATABASE_NAME,
        secret_name: str | None = None,
    ) -> None:
        """``identifier`` (default ``<stack>-db``), ``database_name`` and ``secret_name`` (the
        generated credentials' name, default CloudFormation's) for a stack of several."""
        super().__init__(scope, construct_id)
        self.engine = engine
        self.port = MYSQL_PORT
        self.database_name = database_name
        identifier = identifier or f"{Stack.of(self).stack_name.lower()}-db"
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="cloudmall database: MySQL from the app tier only",
            allow_all_outbound=False,
        )
        credentials = rds.Credentials.from_generated_secret(
            "cloudmall",
            secret_name=secret_name,
            exclude_characters=EXCLUDED_PASSWORD_CHARACTERS,
        )
        db_instance_type = ec2.InstanceType(instance_type)
        self.instance: rds.DatabaseInstance | None = None
        self.cluster: rds.DatabaseCluster | None = None
        if engine == "aurora-mysql":
            exports = ["audit", "error", "general", "slowquery"]
            log_prefix = f"/aws/rds/cluster/{identifier}"
            cluster_engine = rds.DatabaseClusterEngine.aurora_mysql(
                version=rds.AuroraMysqlEngineVersion.VER_3_10_0
            )
            self.cluster = rds.DatabaseCluster(
                self,
                "Cluster",
                engine=cluster_engine,
                cluster_identifier=identifier,
                credentials=credentials,
                default_database_name=database_name,
                writer=rds.ClusterInstance.provisioned(
                    "Writer", instance_type=db_instance_type, publicly_accessible=False
                ),
                readers=[
                    rds.ClusterInstance.provisioned(
                        "Reader",
                        instance_type=db_instance_type,
                        publicly_accessible=False,
                        promotion_tier=1,
                    )
                ],
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[self.security_group],
                port=MYSQL_PORT,
                storage_encrypted=True,
                deletion_protection=True,
                removal_policy=RemovalPolicy.SNAPSHOT,
                backup=rds.BackupProps(
                    retention=Duration.days(backup_retention_days),
                    preferred_window="17:00-18:00",  # 02:00-03:00 KST
                ),
                backtrack_window=Duration.hours(24),
                parameter_group=rds.ParameterGroup(
                    self,
                    "Parameters",
                    engine=cluster_engine,
                    parameters={**SERVER_PARAMETERS, "server_audit_logging": "1"},
                ),
                cloudwatch_logs_exports=exports,
                copy_tags_to_snapshot=True,
            )
            self.secret = self.cluster.secret
            self.endpoint_address = self.cluster.cluster_endpoint.hostname
            resource = self.cluster.node.default_child
        else:
            exports = ["error", "slowquery"]
            log_prefix = f"/aws/rds/instance/{identifier}"
            instance_engine = rds.DatabaseInstanceEngine.mysql(
                version=rds.MysqlEngineVersion.of(MYSQL_MAJOR_VERSION, MYSQL_MAJOR_VERSION)
            )
            self.instance = rds.DatabaseInstance(
                self,
                "Instance",
                engine=instance_engine,
                instance_identifier=identifier,
                instance_type=db_instance_type,
                credentials=credentials,
                database_name=database_name,
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[self.security_group],
                port=MYSQL_PORT,
                **instance_settings(backup_retention_days),
                parameter_group=rds.ParameterGroup(
                    self, "Parameters", engine=instance_engine, parameters=SERVER_PARAMETERS
                ),
                cloudwatch_logs_exports=exports,
            )
            self.secret = self.instance.secret
            self.endpoint_address = self.instance.db_instance_endpoint_address
            resource = self.instance.node.default_child
            _allow_major_only_version(resource)
        assert self.secret is not None

        # The exported log groups, made here (not by RDS) so they get a retention period and
        # no log-retention Lambda is needed. Deleted with the stack (after the database, which
        # depends on them): a retained group of this fixed name would make the next deployment
        # of the stack fail with "already exists".
        self.log_groups: dict[str, logs.LogGroup] = {}
        for name in exports:
            group = logs.LogGroup(
                self,
                f"Log-{name}",
                log_group_name=f"{log_prefix}/{name}",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            )
            resource.node.add_dependency(group)
            self.log_groups[name] = group
        self.slow_queries = logs.MetricFilter(
            self,
            "SlowQueries",
            log_group=self.log_groups["slowquery"],
            filter_pattern=logs.FilterPattern.literal(SLOW_QUERY_FILTER),
            metric_namespace="cloudmall",
            metric_name="SlowQueries",
            metric_value="1",
            default_value=0,
        )

        owner = self.cluster if self.cluster is not None else self.instance
        assert owner is not None
        acknowledge(
            owner.node.find_child("Secret"),
            "AwsSolutions-SMG4",
            "The app reads the database password into its env file at boot; rotating it "
            "under a running fleet breaks new connections. Rotation is an operator runbook "
            "(rotate, then start an ASG instance refresh), see docs/deploy-aws.md.",
        )
        acknowledge(
            resource,
            "AwsSolutions-RDS11",
            "Port obscurity adds no protection here: the database sits in isolated subnets and "
            "its security group admits only the app tier's group. The standard 3306 keeps the "
            "app's URLs and MySQL tooling working unchanged.",
        )
        acknowledge(
            resource,
            "AwsSolutions-RDS6",
            "The app authenticates with the generated Secrets Manager credentials (a pooled "
            "asyncmy engine); IAM auth tokens expire every 15 minutes and would need a custom "
            "connection creator. Network access is limited to the app security group.",
        )

    def allow_from(self, peer: ec2.ISecurityGroup, description: str) -> None:
        """Let ``peer`` (the app tier) reach MySQL; nothing else can."""
        self.security_group.add_ingress_rule(
            peer,
            ec2.Port.tcp(MYSQL_PORT),
            description,
        )

    @property
    def url_without_credentials(self) -> str:
        """``mysql+asyncmy://HOST:3306/cloudmall?ssl_ca=…``; the boot script adds user and
        password. ``ssl_ca`` makes asyncmy use TLS, verifying the certificate and host name."""
        return (
            f"mysql+asyncmy://{self.endpoint_address}:{self.port}/{self.database_name}"
            f"?ssl_ca={RDS_CA_BUNDLE}"
        )

    @property
    def arn(self) -> str:
        stack = Stack.of(self)
        if self.cluster is not None:
            return stack.format_arn(
                service="rds",
                resource="cluster",
                resource_name=self.cluster.cluster_identifier,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        assert self.instance is not None
        return self.instance.instance_arn

    def backup_resource(self) -> backup.BackupResource:
        if self.cluster is not None:
            return backup.BackupResource.from_rds_database_cluster(self.cluster)
        assert self.instance is not None
        return backup.BackupResource.from_rds_database_instance(self.instance)

    # ---- metrics (the same names for both engines) ----
    def _metric(self, name: str, statistic: str = "Average") -> cloudwatch.Metric:
        if self.cluster is not None:
            dimensions = {"DBClusterIdentifier": self.cluster.cluster_identifier}
        else:
            assert self.instance is not None
            dimensions = {"DBInstanceIdentifier": self.instance.instance_identifier}
        return cloudwatch.Metric(
            namespace="AWS/RDS",
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=Duration.minutes(5),
        )

    def metric_cpu(self) -> cloudwatch.Metric:
        return self._metric("CPUUtilization")

    def metric_slow_queries(self) -> cloudwatch.Metric:
        """Statements over long_query_time, counted from the exported slow query log."""
        return self.slow_queries.metric(statistic="Sum", period=Duration.minutes(5))

    def metric_connections(self) -> cloudwatch.Metric:
        return self._metric("DatabaseConnections")

    def metric_read_latency(self) -> cloudwatch.Metric:
        return self._metric("ReadLatency")

    def metric_write_latency(self) -> cloudwatch.Metric:
        return self._metric("WriteLatency")

    def metric_free_storage(self) -> cloudwatch.Metric:
        # Aurora's storage grows by itself; its local (temp) storage is what can run out.
        return self._metric("FreeLocalStorage" if self.cluster else "FreeStorageSpace", "Minimum")


MAJOR_ONLY_REASON = (
    "EngineVersion is the major version only, which RDS resolves to its current default minor "
    "(as aws-cdk-lib's own MysqlEngineVersion.VER_8_0 does); the linters' list names full "
    "versions only. A pinned minor would be retired under automatic minor upgrades and fail "
    "the next stack update."
)


def _allow_major_only_version(resource: object) -> None:
    """Tell cfn-lint and CDK's template validation that a major-only EngineVersion is meant."""
    assert isinstance(resource, rds.CfnDBInstance)
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3691"]}})
    acknowledge(resource, "CloudFormation-Validate::E9006", MAJOR_ONLY_REASON)
