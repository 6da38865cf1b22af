"""The serverless shop's network: isolated subnets only, no NAT gateway.

The functions reach RDS Proxy inside the VPC (or, on the DynamoDB variant, the table through a
gateway endpoint, free), S3 through a gateway endpoint (free), Secrets Manager through an
interface endpoint and SES's SMTP service (the mail function) through another; IAM tokens for
the database are signed locally, and logs, metrics (EMF) and traces leave through the Lambda
service, not the functions' network.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from cloudmall_infra.nag import acknowledge

ISOLATED = "isolated"


class ServerlessNetwork(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: list[str],
        dynamodb: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        gateways = {
            "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
        }
        if dynamodb:
            gateways["DynamoDB"] = ec2.GatewayVpcEndpointOptions(
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.1.0.0/16"),
            availability_zones=availability_zones,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=ISOLATED, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints=gateways,
        )
        self.secrets_endpoint = self.vpc.add_interface_endpoint(
            "SecretsManager",
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            subnets=self.subnets,
            private_dns_enabled=True,
        )
        acknowledge(
            self.secrets_endpoint,
            "AwsSolutions-EC23",
            "The endpoint's security group admits HTTPS from the VPC's own CIDR block (CDK's "
            "default, an intrinsic cdk-nag cannot read): only the functions live in this VPC.",
        )
        # Port 587 (STARTTLS): what SES's SMTP endpoint answers inside a VPC.
        self.smtp_endpoint = self.vpc.add_interface_endpoint(
            "SesSmtp",
            service=ec2.InterfaceVpcEndpointAwsService.EMAIL_SMTP,
            subnets=self.subnets,
            private_dns_enabled=True,
        )
        acknowledge(
            self.smtp_endpoint,
            "AwsSolutions-EC23",
            "The endpoint's security group admits SMTP from the VPC's own CIDR block (CDK's "
            "default, an intrinsic cdk-nag cannot read): only the functions live in this VPC.",
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    @property
    def subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=ISOLATED)
