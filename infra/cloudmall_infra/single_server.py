"""The guide's pattern 1 (an event site): one EC2 instance, an Elastic IP, embedded defaults."""

from __future__ import annotations

from aws_cdk import CfnCreationPolicy, CfnResourceSignal, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from cloudmall_infra.app_role import AppRole
from cloudmall_infra.app_settings import AppSettings
from cloudmall_infra.nag import acknowledge
from cloudmall_infra.user_data import ENV_FILE, app_instance_user_data

HTTP_PORT = 80


class SingleServer(Construct):
    """cloudmall on SQLite and a local media folder (``/var/lib/cloudmall``) on an encrypted
    EBS root volume, reachable at an Elastic IP (and a Route 53 A record when asked).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region: str,
        availability_zone: str,
        instance_type: str,
        ingress_cidr: str,
        environment: str,
        domain_name: str | None = None,
        hosted_zone_id: str | None = None,
        hosted_zone_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.10.0.0/16"),
            availability_zones=[availability_zone],
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                )
            ],
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            description="cloudmall single server: HTTP from the allowed range",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.ipv4(ingress_cidr), ec2.Port.tcp(HTTP_PORT), "cloudmall serve (HTTP)"
        )
        if ingress_cidr in {"0.0.0.0/0", "::/0"}:
            acknowledge(
                self.security_group,
                "AwsSolutions-EC23",
                "A public event site must be reachable from anywhere on its web port; only port "
                "80 is open (no SSH: Session Manager). Narrow it with single_server_ingress_cidr.",
            )

        settings = AppSettings(self, "Settings", environment=environment)
        role = AppRole(self, "Role", description="cloudmall single server")
        settings.grant_read(role.role)
        user_data = app_instance_user_data(
            self,
            boot_config=settings.boot_config(region=region, env_file=ENV_FILE),
            role=role.role,
            port=HTTP_PORT,
            in_auto_scaling_group=False,
        )
        self.instance = ec2.Instance(
            self,
            "Instance",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            instance_type=ec2.InstanceType(instance_type),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            security_group=self.security_group,
            role=role.role,
            user_data=user_data,
            require_imdsv2=True,
            detailed_monitoring=True,
            disable_api_termination=True,  # the shop's data lives on this volume
            ebs_optimized=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        30,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        self.instance.node.add_dependency(settings)
        cfn_instance = self.instance.instance
        cfn_instance.cfn_options.creation_policy = CfnCreationPolicy(
            resource_signal=CfnResourceSignal(count=1, timeout="PT20M")
        )
        user_data.add_signal_on_exit_command(self.instance)

        self.elastic_ip = ec2.CfnEIP(self, "ElasticIp", domain="vpc")
        ec2.CfnEIPAssociation(
            self,
            "ElasticIpAssociation",
            allocation_id=self.elastic_ip.attr_allocation_id,
            instance_id=self.instance.instance_id,
        )
        self.record: route53.ARecord | None = None
        if domain_name and hosted_zone_id:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self,
                "Zone",
                hosted_zone_id=hosted_zone_id,
                zone_name=hosted_zone_name or domain_name,
            )
            self.record = route53.ARecord(
                self,
                "Record",
                zone=zone,
                record_name=domain_name,
                target=route53.RecordTarget.from_ip_addresses(self.elastic_ip.ref),
                ttl=Duration.minutes(5),
            )

    @property
    def public_ip(self) -> str:
        return self.elastic_ip.ref
