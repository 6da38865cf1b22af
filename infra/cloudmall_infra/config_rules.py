"""AWS Config: a recorder, a delivery channel and managed rules for the guide's checklist."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Stack
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from constructs import Construct

from cloudmall_infra.audit_trail import AuditLogBucket
from cloudmall_infra.nag import acknowledge, logical_id
from cloudmall_infra.password_policy import config_rule_parameters

ACCESS_KEY_MAX_AGE_DAYS = 90
DELIVERY_PREFIX = "config"


@dataclass(frozen=True)
class ConfigRule:
    construct_id: str
    identifier: str
    parameters: dict[str, str] = field(default_factory=dict)


_ids = config.ManagedRuleIdentifiers

# The guide's 보안 체크리스트, as AWS Config can judge it on the live account.
GUIDE_RULES: tuple[ConfigRule, ...] = (
    ConfigRule("RootMfa", _ids.ROOT_ACCOUNT_MFA_ENABLED),
    ConfigRule("ConsoleMfa", _ids.MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS),
    ConfigRule(
        "AccessKeysRotated",
        _ids.ACCESS_KEYS_ROTATED,
        {"maxAccessKeyAge": str(ACCESS_KEY_MAX_AGE_DAYS)},
    ),
    ConfigRule("PasswordPolicy", _ids.IAM_PASSWORD_POLICY, config_rule_parameters()),
    ConfigRule("S3NoPublicAccess", _ids.S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED),
    ConfigRule("S3NoPublicRead", _ids.S3_BUCKET_PUBLIC_READ_PROHIBITED),
    ConfigRule("S3NoPublicWrite", _ids.S3_BUCKET_PUBLIC_WRITE_PROHIBITED),
    ConfigRule("S3Encrypted", _ids.S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED),
    ConfigRule("RdsEncrypted", _ids.RDS_STORAGE_ENCRYPTED),
    ConfigRule("EbsEncrypted", _ids.EBS_ENCRYPTED_VOLUMES),
    ConfigRule("EbsEncryptedByDefault", _ids.EC2_EBS_ENCRYPTION_BY_DEFAULT),
    ConfigRule("CloudTrailEnabled", _ids.CLOUD_TRAIL_ENABLED),
    ConfigRule("RestrictedSsh", _ids.EC2_SECURITY_GROUPS_INCOMING_SSH_DISABLED),
)


class ConfigAudit(Construct):
    """Records every supported resource type (global ones too) into the audit bucket and
    evaluates :data:`GUIDE_RULES` against them.
    """

    def __init__(self, scope: Construct, construct_id: str, *, bucket: AuditLogBucket) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("config.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWS_ConfigRole")
            ],
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeliverToAuditBucket",
                actions=["s3:PutObject"],
                resources=[
                    bucket.bucket.arn_for_objects(f"{DELIVERY_PREFIX}/AWSLogs/{account}/Config/*")
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CheckAuditBucket",
                actions=["s3:GetBucketAcl"],
                resources=[bucket.bucket.bucket_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptDeliveries",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[bucket.key.key_arn],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWS_ConfigRole]",
            "The role AWS Config assumes to describe the account's resources; AWS documents this "
            "managed service-role policy for it and extends it as Config supports new types.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket.bucket)}.Arn>/{DELIVERY_PREFIX}/"
            f"AWSLogs/{account}/Config/*]",
            "Config names its snapshot and history objects by date and resource type; the "
            "wildcard is that one prefix of the audit bucket, with s3:PutObject only.",
        )
        self.recorder = config.CfnConfigurationRecorder(
            self,
            "Recorder",
            role_arn=role.role_arn,
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=True
            ),
        )
        self.delivery_channel = config.CfnDeliveryChannel(
            self,
            "Delivery",
            s3_bucket_name=bucket.bucket.bucket_name,
            s3_key_prefix=DELIVERY_PREFIX,
            s3_kms_key_arn=bucket.key.key_arn,
            config_snapshot_delivery_properties=config.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        # Config accepts a delivery channel only once a recorder exists
        self.delivery_channel.node.add_dependency(self.recorder)
        self.rules: list[config.ManagedRule] = []
        for spec in GUIDE_RULES:
            rule = config.ManagedRule(
                self,
                spec.construct_id,
                identifier=spec.identifier,
                input_parameters=dict(spec.parameters) or None,
            )
            # a rule evaluates only what a running recorder has recorded
            rule.node.add_dependency(self.recorder)
            rule.node.add_dependency(self.delivery_channel)
            self.rules.append(rule)
