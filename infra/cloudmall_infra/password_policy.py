"""The IAM account password policy (CDK has no construct for it): one scoped SDK call."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from cloudmall_infra.nag import acknowledge

# CIS AWS Foundations 1.8-1.9 and the guide's "rotate regularly": 14+ characters, all four
# character classes, 90-day age, the last 24 passwords not reused.
PASSWORD_POLICY: dict[str, Any] = {
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}


def config_rule_parameters() -> dict[str, str]:
    """The same policy as input parameters of the ``IAM_PASSWORD_POLICY`` Config rule."""
    keys = (
        "RequireUppercaseCharacters",
        "RequireLowercaseCharacters",
        "RequireSymbols",
        "RequireNumbers",
        "MinimumPasswordLength",
        "PasswordReusePrevention",
        "MaxPasswordAge",
    )
    return {key: str(PASSWORD_POLICY[key]).lower() for key in keys}


class AccountPasswordPolicy(Construct):
    """Sets the policy on create and update; leaves it in place when the stack is deleted
    (removing it would silently weaken every console password in the account).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        call = cr.AwsSdkCall(
            service="IAM",
            action="updateAccountPasswordPolicy",
            parameters=PASSWORD_POLICY,
            physical_resource_id=cr.PhysicalResourceId.of("account-password-policy"),
        )
        self.resource = cr.AwsCustomResource(
            self,
            "Resource",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["iam:UpdateAccountPasswordPolicy"],
                        resources=["*"],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            self.resource,
            "AwsSolutions-IAM5[Resource::*]",
            "iam:UpdateAccountPasswordPolicy acts on the account and supports no resource-level "
            "permissions (IAM service authorization reference), so its Resource must be '*'; "
            "it is the only action granted.",
        )
        # the SDK call runs in CDK's singleton Lambda function; this is its execution role
        acknowledge(
            self.resource.grant_principal,  # type: ignore[arg-type]
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "The custom resource's Lambda function writes its own logs and nothing else; this AWS "
            "managed policy is exactly logs:CreateLogGroup/CreateLogStream/PutLogEvents.",
        )
