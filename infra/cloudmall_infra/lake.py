"""The data lake (docs/lake.md): the bucket `cloudmall lake export` writes Parquet to, the Glue
tables that describe it (partition projection: no crawler), and an Athena workgroup with the
report's queries. Columns and SQL come from the app's own modules, so the files, the catalogue
and the queries cannot drift apart.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudmall.domain.events import EVENT_TYPES
from cloudmall.services.lake_schema import FIRST_DAY, TABLES, LakeTable
from cloudmall.services.lake_sql import REPORT_QUERIES
from cloudmall_infra.buckets import private_bucket
from cloudmall_infra.nag import acknowledge, logical_id

STANDARD_IA_AFTER_DAYS = 30
# Glacier Instant Retrieval: Athena still reads it (Flexible Retrieval objects it skips).
GLACIER_AFTER_DAYS = 90
RESULTS_EXPIRE_DAYS = 30
#: Athena cancels a query that would scan more than this (and bills at most this much).
BYTES_SCANNED_LIMIT = 10 * 1024**3
DATABASE_NAME = "cloudmall_lake"

_PARQUET = {
    "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "serialization_library": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
}


def projection(table: LakeTable, bucket: s3.IBucket) -> dict[str, str]:
    """Partition projection: Athena computes the partitions from these rules at query time."""
    keys = "/".join(f"{name}=${{{name}}}" for name, _ in table.partitions)
    rules = {
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{FIRST_DAY},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": f"s3://{bucket.bucket_name}/{table.prefix}/{keys}/",
    }
    if any(name == "type" for name, _ in table.partitions):
        rules["projection.type.type"] = "enum"
        rules["projection.type.values"] = ",".join(sorted(EVENT_TYPES))
    return rules


class DataLake(Construct):
    """The lake's bucket, Glue database and tables, Athena workgroup and named queries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs: s3.IBucket,
        database_name: str = DATABASE_NAME,  # one per account and region: stages need their own
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = database_name
        self.bucket = private_bucket(
            self,
            "Bucket",
            access_logs=access_logs,
            access_logs_prefix="s3/lake/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="storage-class-by-age",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(STANDARD_IA_AFTER_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(GLACIER_AFTER_DAYS),
                        ),
                    ],
                    noncurrent_version_expiration=Duration.days(7),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        self.results = private_bucket(
            self,
            "Results",
            access_logs=access_logs,
            access_logs_prefix="s3/lake-results/",
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-query-results", expiration=Duration.days(RESULTS_EXPIRE_DAYS)
                )
            ],
        )
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="cloudmall's events, exported from the outbox"
            ),
        )
        self.tables = {name: self._table(table) for name, table in TABLES.items()}
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"cloudmall-lake-{Stack.of(self).stack_name}",
            description="cloudmall's lake reports: results in their own bucket, scans capped",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_LIMIT,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        self.named_queries = [self._named_query(name, sql) for name, sql in REPORT_QUERIES.items()]

    def _table(self, table: LakeTable) -> glue.CfnTable:
        resource = glue.CfnTable(
            self,
            f"Table{table.name.title().replace('_', '')}",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table.name,
                table_type="EXTERNAL_TABLE",
                parameters=projection(table, self.bucket),
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=name, type=kind)
                    for name, kind in table.partitions
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=f"s3://{self.bucket.bucket_name}/{table.prefix}/",
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=kind)
                        for name, kind in table.columns
                    ],
                    input_format=_PARQUET["input_format"],
                    output_format=_PARQUET["output_format"],
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=_PARQUET["serialization_library"]
                    ),
                ),
            ),
        )
        resource.add_dependency(self.database)
        return resource

    def _named_query(self, name: str, sql: str) -> athena.CfnNamedQuery:
        query = athena.CfnNamedQuery(
            self,
            f"Query{name.title().replace('_', '')}",
            name=f"cloudmall {name.replace('_', ' ')}",
            description=(
                f"cloudmall lake report: {name} (two parameters: first and last day, "
                "YYYY-MM-DD, as execution parameters)"
            ),
            database=self.database_name,
            work_group=self.workgroup.ref,
            query_string=sql.strip(),
        )
        query.add_dependency(self.database)
        return query

    def grant_export(self, role: iam.IRole) -> None:
        """Write (and read back, for the staff overview) the lake's table prefixes; nothing
        else in the bucket, no other bucket, no bucket configuration."""
        prefixes = [f"{table.prefix}/*" for table in TABLES.values()]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LakeObjects",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[self.bucket.arn_for_objects(prefix) for prefix in prefixes],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LakeList",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": prefixes}},
            )
        )
        for prefix in prefixes:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{logical_id(self.bucket)}.Arn>/{prefix}]",
                "The export names each file after its batch (…/dt=…/part-<batch>.parquet): the "
                "keys are made at export time, so the grant is the table's prefix, no wider.",
            )
