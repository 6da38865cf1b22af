"""S3 buckets with one set of safe defaults, and the bucket their access logs go to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudmall_infra.nag import acknowledge


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    access_logs: s3.IBucket | None,
    access_logs_prefix: str | None = None,
    versioned: bool = True,
    lifecycle_rules: list[s3.LifecycleRule] | None = None,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> s3.Bucket:
    """Private (all public access blocked, bucket-owner-enforced), TLS-only, SSE-S3 encrypted."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=versioned,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        lifecycle_rules=lifecycle_rules,
        removal_policy=removal_policy,
    )


class LogBucket(Construct):
    """Where S3 server access logs, ALB access logs and CloudFront logs go.

    SSE-S3 (ALB log delivery does not support KMS keys) and ACLs enabled for the object writer
    (CloudFront's standard logging writes with an ACL). Logs expire after a year.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=False,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=Duration.days(365),
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(30),
                        )
                    ],
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "This is the access-log destination of the other buckets, the ALB and CloudFront; "
            "logging it into itself would log every log delivery, a loop with no audit value.",
        )
