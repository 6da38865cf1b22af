"""The guide's pattern 1: a single server for a short-lived event site."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from cloudmall_infra.config import DeploymentConfig
from cloudmall_infra.single_server import SingleServer


class SingleServerStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("project", "cloudmall")
        Tags.of(self).add("pattern", "single-server")
        server = SingleServer(
            self,
            "Server",
            region=self.region,
            availability_zone=config.availability_zones[0],
            instance_type=config.single_server_instance_type,
            ingress_cidr=config.single_server_ingress_cidr,
            environment=config.environment,
            domain_name=config.domain_name,
            hosted_zone_id=config.hosted_zone_id,
            hosted_zone_name=config.hosted_zone_name,
            ami_id=config.single_server_ami,
        )
        CfnOutput(self, "PublicIp", value=server.public_ip)
        CfnOutput(self, "Url", value=f"http://{config.domain_name or server.public_ip}/")
