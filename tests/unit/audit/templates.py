"""Small hand-written templates for the audit's rules: each a piece of a real stack."""

from __future__ import annotations

from typing import Any

from cloudmall.audit.stack import StackTemplate


def stack(
    resources: dict[str, dict[str, Any]], *, name: str = "Shop", pattern: str | None = None
) -> StackTemplate:
    body: dict[str, Any] = {"Resources": {}}
    for lid, (rtype, properties) in resources.items():
        properties = dict(properties)
        if pattern is not None:
            properties["Tags"] = [{"Key": "pattern", "Value": pattern}]
        body["Resources"][lid] = {"Type": rtype, "Properties": properties}
    return StackTemplate(name, body)


def ref(lid: str) -> dict[str, str]:
    return {"Ref": lid}


def arn(lid: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [lid, "Arn"]}


def policy(*statements: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "AWS::IAM::Policy",
        {
            "PolicyName": "p",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    )


def allow(action: str | list[str], resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def security_group(*ingress: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "AWS::EC2::SecurityGroup",
        {"GroupDescription": "sg", "SecurityGroupIngress": list(ingress)},
    )


def tcp(port: int, cidr: str = "0.0.0.0/0") -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": cidr}


TLS_ONLY = {
    "Effect": "Deny",
    "Action": "s3:*",
    "Principal": {"AWS": "*"},
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    "Resource": "*",
}

ENCRYPTED_BUCKET = (
    "AWS::S3::Bucket",
    {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        }
    },
)


def bucket_policy(bucket: str) -> tuple[str, dict[str, Any]]:
    return (
        "AWS::S3::BucketPolicy",
        {"Bucket": ref(bucket), "PolicyDocument": {"Statement": [TLS_ONLY]}},
    )


def public_network() -> dict[str, tuple[str, dict[str, Any]]]:
    """A VPC with one public subnet (routes to an internet gateway) and one private one."""
    return {
        "Igw": ("AWS::EC2::InternetGateway", {}),
        "PublicSubnet": ("AWS::EC2::Subnet", {"CidrBlock": "10.0.0.0/24"}),
        "PrivateSubnet": ("AWS::EC2::Subnet", {"CidrBlock": "10.0.1.0/24"}),
        "PublicRoutes": ("AWS::EC2::RouteTable", {}),
        "PublicDefault": (
            "AWS::EC2::Route",
            {
                "RouteTableId": ref("PublicRoutes"),
                "GatewayId": ref("Igw"),
                "DestinationCidrBlock": "0.0.0.0/0",
            },
        ),
        "PublicAssoc": (
            "AWS::EC2::SubnetRouteTableAssociation",
            {"SubnetId": ref("PublicSubnet"), "RouteTableId": ref("PublicRoutes")},
        ),
    }


def baseline() -> dict[str, tuple[str, dict[str, Any]]]:
    """What the SecurityBaseline stack holds, reduced to what the account-level rules read."""
    rules = {
        f"Rule{ident}": (
            "AWS::Config::ConfigRule",
            {
                "Source": {"Owner": "AWS", "SourceIdentifier": ident},
                **(
                    {"InputParameters": {"maxAccessKeyAge": "90"}}
                    if ident == "ACCESS_KEYS_ROTATED"
                    else {}
                ),
            },
        )
        for ident in (
            "ROOT_ACCOUNT_MFA_ENABLED",
            "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
            "ACCESS_KEYS_ROTATED",
            "IAM_PASSWORD_POLICY",
            "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
            "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
            "RDS_STORAGE_ENCRYPTED",
            "ENCRYPTED_VOLUMES",
            "CLOUD_TRAIL_ENABLED",
            "INCOMING_SSH_DISABLED",
        )
    }
    return {
        "Trail": (
            "AWS::CloudTrail::Trail",
            {
                "IsLogging": True,
                "IsMultiRegionTrail": True,
                "EnableLogFileValidation": True,
                "KMSKeyId": arn("Key"),
                "S3BucketName": ref("Bucket"),
            },
        ),
        "RootUse": (
            "AWS::Logs::MetricFilter",
            {
                "FilterPattern": '{ $.userIdentity.type = "Root" }',
                "LogGroupName": ref("Logs"),
                "MetricTransformations": [
                    {
                        "MetricNamespace": "cloudmall/Security",
                        "MetricName": "RootAccountUse",
                        "MetricValue": "1",
                    }
                ],
            },
        ),
        "RootUseAlarm": (
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "cloudmall/Security",
                "MetricName": "RootAccountUse",
                "AlarmActions": [ref("Topic")],
            },
        ),
        "Detector": ("AWS::GuardDuty::Detector", {"Enable": True}),
        "Findings": (
            "AWS::Events::Rule",
            {
                "EventPattern": {"source": ["aws.guardduty"]},
                "Targets": [{"Arn": ref("Topic"), "Id": "t"}],
            },
        ),
        "Recorder": (
            "AWS::Config::ConfigurationRecorder",
            {"RoleARN": arn("Role"), "RecordingGroup": {"AllSupported": True}},
        ),
        "Delivery": ("AWS::Config::DeliveryChannel", {"S3BucketName": ref("Bucket")}),
        "PasswordPolicy": (
            "Custom::AWS",
            {"Create": '{"service":"IAM","action":"updateAccountPasswordPolicy"}'},
        ),
        **rules,
    }
