"""The shop's DynamoDB table for the serverless stack's `-c database=dynamodb` variant.

The same single table `cloudmall migrate` makes locally (docs/dynamodb.md: keys, the three
indexes, the time-to-live attribute), owned here by the stack: on-demand capacity,
point-in-time recovery (its backup), encryption at rest with an AWS-managed key, deletion
protection. Each function may read and write the table's items and query its indexes — nothing
else: no table management, no Scan, no other table.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

#: Mirrors cloudmall.adapters.dynamodb.table (INDEXES, TTL); the infra package does not import
#: the application.
INDEXES = ("GSI1", "GSI2", "GSI3")
TTL_ATTRIBUTE = "expires"
#: What the adapters call: items (transactions write through Put/Update/Delete/ConditionCheck),
#: the id counters (UpdateItem), reads and index queries, and the health probe's DescribeTable.
ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)


class ShopTable(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        key = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="PK", type=key),
            sort_key=dynamodb.Attribute(name="SK", type=key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=True,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in INDEXES:
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=f"{index}PK", type=key),
                sort_key=dynamodb.Attribute(name=f"{index}SK", type=key),
                projection_type=dynamodb.ProjectionType.ALL,
            )

    @property
    def url(self) -> str:
        return f"dynamodb://{self.table.table_name}?region={Stack.of(self).region}"

    def allow_from(self, security_group: ec2.ISecurityGroup) -> None:
        """(Nothing to open: the functions reach DynamoDB through the VPC's gateway endpoint.)"""

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """The table's items and its three indexes, by name: no wildcard."""
        arn = self.table.table_arn
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(ACTIONS),
                resources=[arn, *(f"{arn}/index/{index}" for index in INDEXES)],
            )
        )

    def metric_throttles(self) -> cloudwatch.IMetric:
        """Requests DynamoDB throttled (on demand: a burst beyond twice the previous peak)."""
        return self.table.metric_throttled_requests_for_operations(
            operations=[
                dynamodb.Operation.GET_ITEM,
                dynamodb.Operation.QUERY,
                dynamodb.Operation.TRANSACT_WRITE_ITEMS,
                dynamodb.Operation.UPDATE_ITEM,
            ]
        )
