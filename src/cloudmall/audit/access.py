"""Access checks: roles instead of users and keys, and policies as narrow as the guide's example.

The guide's example grants ``s3:GetObject``/``s3:ListBucket`` on one named bucket and
``rds-db:connect`` on one database user: exact actions, named resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from cloudmall.audit.account import ACCOUNT, config_rules, covered_by_rules, find
from cloudmall.audit.model import Outcome, Problem
from cloudmall.audit.stack import StackTemplate, as_list, whole_number

DATA_SERVICES = frozenset(
    {
        "s3",
        "dynamodb",
        "rds",
        "rds-db",
        "rds-data",
        "elasticache",
        "secretsmanager",
        "ssm",
        "kms",
        "sqs",
        "sns",
        "backup",
        "glacier",
        "elasticfilesystem",
    }
)
"""Services that hold the shop's data: no wildcard action at all on these."""

RESOURCE_STAR_ALLOWED: Mapping[str, str] = {
    "iam:UpdateAccountPasswordPolicy": "acts on the account; IAM offers no resource-level ARN",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no ARN to name",
    "xray:PutTraceSegments": "X-Ray supports no resource-level permissions for it",
    "xray:PutTelemetryRecords": "X-Ray supports no resource-level permissions for it",
    "ecr:GetAuthorizationToken": "the registry login token is account-wide; ECR has no ARN for it",
    "ssm:DescribeParameters": "Systems Manager supports no resource-level permissions for it",
    "autoscaling:DescribeAutoScalingGroups": "Auto Scaling's Describe actions take no resource",
    "autoscaling:DescribeAutoScalingInstances": "Auto Scaling's Describe actions take no resource",
    "ecs:RegisterTaskDefinition": "ECS supports no resource-level permissions for it",
    "ecs:DescribeTaskDefinition": "ECS supports no resource-level permissions for it",
    "cloudfront:CreateInvalidation": (
        "CDK's BucketDeployment grants it on '*' (acknowledged in cdk-nag); it empties the "
        "CDN cache, it reads or writes no data"
    ),
    "cloudfront:GetInvalidation": "the status of the invalidation above; no data",
    **{
        action: (
            "a Lambda function's network interfaces in its VPC, which the Lambda service manages; "
            "AWS's own AWSLambdaVPCAccessExecutionRole grants them on '*'; no data"
        )
        for action in (
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        )
    },
}
"""Actions whose ``Resource: "*"`` is accepted, each with the reason."""

_IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def _documents(stack: StackTemplate) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(logical id, policy document)`` of every identity policy in the stack."""
    for lid, p in stack.of_type(*_IDENTITY_POLICY_TYPES):
        if isinstance(p.get("PolicyDocument"), Mapping):
            yield lid, p["PolicyDocument"]
    for lid, p in stack.of_type("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        for policy in as_list(p.get("Policies")):
            if isinstance(policy, Mapping) and isinstance(policy.get("PolicyDocument"), Mapping):
                yield lid, policy["PolicyDocument"]


def _action_problem(action: str) -> str | None:
    if action == "*":
        return "Action '*' (every action of every service)"
    service, _, verb = action.partition(":")
    if verb == "*":
        return f"Action '{action}' (every action of {service})"
    # a partial wildcard (CDK's grants write s3:GetObject* and the like) passes: the
    # statement's resources are checked to be named below
    return None


def statement_problems(statement: Mapping[str, Any]) -> list[str]:
    """Why one Allow statement is broader than the guide's example (empty when it is not)."""
    if statement.get("Effect") != "Allow":
        return []
    if "NotAction" in statement:
        return ["NotAction allows everything but the listed actions"]
    if "NotResource" in statement:
        return ["NotResource applies to every resource but the listed ones"]
    actions = [str(a) for a in as_list(statement.get("Action"))]
    problems = [p for p in (_action_problem(a) for a in actions) if p]
    if "*" in [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]:
        unnamed = [a for a in actions if a not in RESOURCE_STAR_ALLOWED]
        data = [a for a in unnamed if a.partition(":")[0].lower() in DATA_SERVICES or a == "*"]
        if data:
            problems.append(f"{', '.join(data)} on Resource '*' (name the resources)")
        elif unnamed:
            problems.append(f"{', '.join(unnamed)} on Resource '*' (AWS does not require it)")
    return problems


def least_privilege(stack: StackTemplate) -> Outcome:
    """Identity policies grant exact actions on named resources, like the guide's example."""
    evidence: list[str] = []
    problems: list[Problem] = []
    seen = False
    for lid, document in _documents(stack):
        seen = True
        found = [
            message
            for statement in as_list(document.get("Statement"))
            if isinstance(statement, Mapping)
            for message in statement_problems(statement)
        ]
        if found:
            problems.append(Problem(stack.label(lid), "broad-policy", "; ".join(found)))
        elif stack.label(lid) not in evidence:
            evidence.append(stack.label(lid))
    if not seen:
        return Outcome(not_applicable="no IAM policies")
    return Outcome(tuple(evidence), tuple(problems))


def iam_roles(stack: StackTemplate) -> Outcome:
    """Workloads act through IAM roles: no IAM users or long-lived access keys, every instance
    with an instance profile."""
    problems = [
        Problem(stack.label(lid), "iam-user", "an IAM user (long-lived credentials)")
        for lid, _ in stack.of_type("AWS::IAM::User")
    ]
    problems += [
        Problem(stack.label(lid), "access-key", "an access key in a template")
        for lid, _ in stack.of_type("AWS::IAM::AccessKey")
    ]
    for lid, p in stack.of_type("AWS::EC2::Instance"):
        if not p.get("IamInstanceProfile"):
            problems.append(Problem(stack.label(lid), "no-role", "instance without a role"))
    for lid, p in stack.of_type("AWS::EC2::LaunchTemplate"):
        data = p.get("LaunchTemplateData") or {}
        if data.get("ImageId") and not data.get("IamInstanceProfile"):
            problems.append(Problem(stack.label(lid), "no-role", "launch template without a role"))
    roles = tuple(stack.label(lid) for lid, _ in stack.of_type("AWS::IAM::Role"))
    if not roles and not problems:
        return Outcome(not_applicable="no IAM principals or compute")
    return Outcome(roles, tuple(problems))


# ---------------------------------------------------------------------------------------------
# Account-level: console and key hygiene, watched by AWS Config on the live account

ACCESS_KEY_MAX_AGE_DAYS = 90
PASSWORD_POLICY_CALL = "updateAccountPasswordPolicy"  # noqa: S105 - an API name


def mfa(stacks: Sequence[StackTemplate]) -> Outcome:
    """Config watches MFA on the root user and on every IAM user with a console password."""
    return covered_by_rules(
        stacks, "ROOT_ACCOUNT_MFA_ENABLED", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS"
    )


def access_key_rotation(stacks: Sequence[StackTemplate]) -> Outcome:
    """Config flags access keys older than 90 days."""
    outcome = covered_by_rules(stacks, "ACCESS_KEYS_ROTATED")
    problems = list(outcome.problems)
    for found in config_rules(stacks).get("ACCESS_KEYS_ROTATED", []):
        age = (found.properties.get("InputParameters") or {}).get("maxAccessKeyAge")
        days = whole_number(age)
        if days is None or days > ACCESS_KEY_MAX_AGE_DAYS:
            problems.append(
                Problem(
                    found.label, "key-age", f"maxAccessKeyAge {age} > {ACCESS_KEY_MAX_AGE_DAYS}"
                )
            )
    return Outcome(outcome.evidence, tuple(problems))


def password_policy(stacks: Sequence[StackTemplate]) -> Outcome:
    """The account password policy is set (a custom resource calling
    ``iam:UpdateAccountPasswordPolicy``) and Config checks it stays so."""
    outcome = covered_by_rules(stacks, "IAM_PASSWORD_POLICY")
    setters = [
        found.label
        for found in find(stacks, "Custom::AWS", "AWS::CloudFormation::CustomResource")
        if PASSWORD_POLICY_CALL in json.dumps(found.properties)
    ]
    problems = list(outcome.problems)
    if not setters:
        problems.append(Problem(ACCOUNT, "not-covered", "nothing sets the account password policy"))
    return Outcome(tuple(setters) + outcome.evidence, tuple(problems))
