"""The 3-tier network: public, private-app (egress through NAT) and isolated-db subnets."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

# Interface endpoints for what the instances call all day, so that traffic stays in the VPC and
# does not pay NAT processing: boot (SSM, Secrets Manager), Session Manager, logs and metrics.
INTERFACE_ENDPOINTS = {
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "SsmMessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "Ec2Messages": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
}

PUBLIC = "public"
APP = "private-app"
DATA = "isolated-db"


class Network(Construct):
    """A VPC over the given zones, an S3 gateway endpoint, interface endpoints in the app subnets
    (:data:`INTERFACE_ENDPOINTS`) and VPC flow logs.

    One NAT gateway per zone, so losing a zone does not take the app tier's egress with it
    (the guide's Multi-AZ pattern).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: list[str],
        cidr: str = "10.0.0.0/16",
        nat_gateways: int | None = None,
        interface_endpoints: tuple[str, ...] = tuple(INTERFACE_ENDPOINTS),
    ) -> None:
        """``interface_endpoints``: which of :data:`INTERFACE_ENDPOINTS` (default all)."""
        super().__init__(scope, construct_id)
        self.cidr = cidr
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=availability_zones,
            nat_gateways=len(availability_zones) if nat_gateways is None else nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=PUBLIC, subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name=APP, subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name=DATA, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.endpoints = {
            name: self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.app_subnets,
                private_dns_enabled=True,
                open=False,  # only the app tier, see allow_endpoints_from
            )
            for name, service in INTERFACE_ENDPOINTS.items()
            if name in interface_endpoints
        }

    def allow_endpoints_from(self, peer: ec2.ISecurityGroup) -> None:
        """HTTPS to every interface endpoint from ``peer`` (the app instances)."""
        for endpoint in self.endpoints.values():
            endpoint.connections.allow_default_port_from(peer, "HTTPS from the app tier")

    @property
    def public_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=PUBLIC)

    @property
    def app_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=APP)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=DATA)
