"""The product-catalogue cache: an ElastiCache (Redis OSS) replication group across two zones.

In the services' stack the same group is the broker's Redis too (another database, the same
memory): its streams and the access board (adapters/access_board/redis.py), which must never
be evicted — an evicted ban is a banned account let back in, silently. So the group's
`maxmemory-policy` is `volatile-lru`, set here rather than left to the default parameter group:
a full memory evicts only keys with a TTL, which every cache entry has and no stream or board
entry has (the board keeps its entries' lifetime itself)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cloudmall_infra.nag import acknowledge

REDIS_PORT = 6379
#: Evict only keys with a TTL (the cache's), never the broker's streams or the access board's.
MAXMEMORY_POLICY = "volatile-lru"


class Cache(Construct):
    """A primary and a replica in different zones with automatic failover (Multi-AZ), encrypted
    at rest and in transit, behind Redis AUTH with a generated token kept in Secrets Manager.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        node_type: str = "cache.t3.micro",
        replicas: int = 1,
    ) -> None:
        super().__init__(scope, construct_id)
        self.port = REDIS_PORT
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="cloudmall cache: Redis from the app tier only",
            allow_all_outbound=False,
        )
        subnet_group = elasticache.CfnSubnetGroup(
            self,
            "Subnets",
            description="cloudmall cache subnets (isolated)",
            subnet_ids=vpc.select_subnets(subnet_group_name=subnets.subnet_group_name).subnet_ids,
        )
        self.auth_token = secretsmanager.Secret(
            self,
            "AuthToken",
            description="cloudmall Redis AUTH token",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64
            ),
        )
        # A name derived from the stack: CloudWatch's ElastiCache metrics are per node
        # (``<group>-001``, ``<group>-002``), so the dashboard needs to know it.
        self.replication_group_id = f"{Stack.of(self).stack_name.lower()}-cache"[:40]
        self.num_nodes = 1 + replicas
        self.parameter_group = elasticache.CfnParameterGroup(
            self,
            "Parameters",
            cache_parameter_group_family="redis7",
            description="cloudmall Redis: evict only keys with a TTL (cache entries)",
            properties={"maxmemory-policy": MAXMEMORY_POLICY},
        )
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=self.replication_group_id,
            replication_group_description="cloudmall product cache (cache-aside)",
            engine="redis",
            engine_version="7.1",
            cache_node_type=node_type,
            cache_parameter_group_name=self.parameter_group.ref,
            num_cache_clusters=self.num_nodes,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.auth_token.secret_value.unsafe_unwrap(),  # a dynamic reference
            cache_subnet_group_name=subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            port=REDIS_PORT,
            snapshot_retention_limit=7,
            snapshot_window="18:00-19:00",
            preferred_maintenance_window="sun:19:00-sun:20:00",
            auto_minor_version_upgrade=True,
        )
        acknowledge(
            self.replication_group,
            "AwsSolutions-AEC5",
            "Port obscurity adds no protection here: the cache sits in isolated subnets, its "
            "security group admits only the app tier, and TLS plus Redis AUTH are required. The "
            "standard 6379 keeps rediss:// URLs and redis-cli working unchanged.",
        )
        acknowledge(
            self.auth_token,
            "AwsSolutions-SMG4",
            "Secrets Manager has no rotation function for ElastiCache AUTH tokens, and a token "
            "changed outside CloudFormation would drift from the replication group; the app "
            "also reads it only at boot. Rotation is a deliberate redeploy, see "
            "docs/deploy-aws.md.",
        )

    @property
    def endpoint_address(self) -> str:
        return self.replication_group.attr_primary_end_point_address

    @property
    def url_without_credentials(self) -> str:
        """``rediss://HOST:6379/0``; the boot script adds the AUTH token."""
        return f"rediss://{self.endpoint_address}:{self.port}/0"

    def allow_from(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.security_group.add_ingress_rule(
            peer,
            ec2.Port.tcp(REDIS_PORT),
            description,
        )

    def _node_metric(self, name: str, node: int) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ElastiCache",
            metric_name=name,
            dimensions_map={"CacheClusterId": f"{self.replication_group_id}-{node:03d}"},
            statistic="Sum",
            period=Duration.minutes(5),
        )

    def metric_hit_rate(self) -> cloudwatch.MathExpression:
        """Cache hit rate in percent over every node: hits / (hits + misses) * 100."""
        metrics: dict[str, cloudwatch.IMetric] = {}
        hits, misses = [], []
        for node in range(1, self.num_nodes + 1):
            metrics[f"h{node}"] = self._node_metric("CacheHits", node)
            metrics[f"m{node}"] = self._node_metric("CacheMisses", node)
            hits.append(f"h{node}")
            misses.append(f"m{node}")
        total_hits = "+".join(hits)
        return cloudwatch.MathExpression(
            expression=f"100 * ({total_hits}) / ({total_hits} + {'+'.join(misses)})",
            using_metrics=metrics,
            label="Cache hit rate (%)",
            period=Duration.minutes(5),
        )
