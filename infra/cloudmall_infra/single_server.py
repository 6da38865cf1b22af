"""The guide's pattern 1 (an event site): one EC2 instance, an Elastic IP, embedded defaults.

The shop's data (SQLite and the media folder under ``/var/lib/cloudmall``) lives on its own
encrypted EBS volume, snapshotted when the stack deletes it, and the AMI is pinned (by context,
or resolved by EC2 at launch so the template never changes): a newer public AMI never replaces
the instance, and replacing the instance would not take the data with it.
"""

from __future__ import annotations

from aws_cdk import CfnCreationPolicy, CfnResourceSignal, Duration, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from cloudmall_infra.app_role import AppRole
from cloudmall_infra.app_settings import AppSettings
from cloudmall_infra.nag import acknowledge
from cloudmall_infra.user_data import ENV_FILE, STATE_DIR, app_instance_user_data

HTTP_PORT = 80
DATA_DEVICE = "/dev/sdf"
DATA_LABEL = "cloudmall-data"
DATA_VOLUME_GB = 20


AL2023_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"


def machine_image(region: str, ami_id: str | None) -> ec2.IMachineImage:
    """The operator's pinned AMI, else Amazon Linux 2023 as EC2 resolves it when it launches the
    instance (``resolve:ssm:`` in ImageId): the template's value never changes, so a newer public
    AMI does not replace the running server; it is picked up only by a new instance."""
    if ami_id:
        return ec2.MachineImage.generic_linux({region: ami_id})
    return ec2.MachineImage.resolve_ssm_parameter_at_launch(
        AL2023_PARAMETER, os=ec2.OperatingSystemType.LINUX
    )


def mount_data_volume(volume_id: str, mount_point: str) -> list[str]:
    """Wait for the data volume (NVMe, named by its ID), make a file system only if it has
    none (a fresh volume), and mount it where the app keeps its state."""
    device = f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(echo {volume_id} | tr -d -)"
    return [
        "set -euo pipefail",
        f"data={device}",
        'for _ in $(seq 1 60); do [ -e "$data" ] && break; sleep 2; done',
        f'blkid "$data" >/dev/null || mkfs.xfs -L {DATA_LABEL} "$data"',
        f"install -d {mount_point}",
        f"grep -q 'LABEL={DATA_LABEL}' /etc/fstab || "
        f"echo 'LABEL={DATA_LABEL} {mount_point} xfs defaults,nofail 0 2' >> /etc/fstab",
        f"mountpoint -q {mount_point} || mount {mount_point}",
    ]


class SingleServer(Construct):
    """cloudmall on SQLite and a local media folder (``/var/lib/cloudmall``) on an encrypted
    EBS data volume, reachable at an Elastic IP (and a Route 53 A record when asked).
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
        ami_id: str | None = None,
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

        self.elastic_ip = ec2.CfnEIP(self, "ElasticIp", domain="vpc")
        settings = AppSettings(self, "Settings", environment=environment)
        # Visitors use the domain when there is one, else the address; the address stays
        # allowed with a domain too (it is the server's own, not a name others control).
        hosts = [domain_name] if domain_name else []
        settings.add_parameter("CLOUDMALL_ALLOWED_HOSTS", ",".join([*hosts, self.elastic_ip.ref]))
        role = AppRole(self, "Role", description="cloudmall single server")
        settings.grant_read(role.role)
        self.data_volume = ec2.Volume(
            self,
            "Data",
            availability_zone=availability_zone,
            size=Size.gibibytes(DATA_VOLUME_GB),
            volume_type=ec2.EbsDeviceVolumeType.GP3,
            encrypted=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(*mount_data_volume(self.data_volume.volume_id, STATE_DIR))
        app_instance_user_data(
            self,
            into=user_data,
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
            machine_image=machine_image(region, ami_id),
            security_group=self.security_group,
            role=role.role,
            user_data=user_data,
            require_imdsv2=True,
            detailed_monitoring=True,
            disable_api_termination=True,  # an event site is not torn down by accident
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
        # Attached as the instance is created, so it is there when the boot script mounts it.
        cfn_instance.add_property_override(
            "Volumes", [{"Device": DATA_DEVICE, "VolumeId": self.data_volume.volume_id}]
        )
        if ami_id:
            acknowledge(
                cfn_instance,
                "CloudFormation-Validate::W9010",
                "The AMI is pinned on purpose (single_server_ami): a newer public image must not "
                "replace the server that holds the event's data; it changes only when the "
                "operator changes it.",
            )
        else:
            reason = (
                "ImageId is 'resolve:ssm:<public AL2023 parameter>', which EC2 documents for "
                "RunInstances and aws-cdk-lib emits for resolve_ssm_parameter_at_launch; the "
                "linters' pattern knows only literal ami- IDs."
            )
            cfn_instance.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E1152"]}})
            acknowledge(cfn_instance, "CloudFormation-Validate::E1152", reason)
        cfn_instance.cfn_options.creation_policy = CfnCreationPolicy(
            resource_signal=CfnResourceSignal(count=1, timeout="PT20M")
        )
        user_data.add_signal_on_exit_command(self.instance)

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
