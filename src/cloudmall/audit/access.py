"""Access checks: roles instead of users and keys, and policies as narrow as the guide's example.

The guide's example grants ``s3:GetObject``/``s3:ListBucket`` on one named bucket and
``rds-db:connect`` on one database user: exact actions, named resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from cloudmall.audit.account import ACCOUNT, config_rules, covered_by_rules, find
from cloudmall.audit.conditions import scoping_keys
from cloudmall.audit.controllers import published_policy
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
    "acm:ListCertificates": "lists the account's certificates (no keys); ACM takes no ARN for it",
    "iam:ListServerCertificates": (
        "lists the account's server certificates (no keys); IAM takes no ARN for it"
    ),
    "shield:GetSubscriptionState": "whether the account has Shield Advanced; no resource",
    **{
        action: "EC2's Describe actions support no resource-level permissions; read-only"
        for action in (
            "ec2:DescribeAccountAttributes",
            "ec2:DescribeAddresses",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeCoipPools",
            "ec2:DescribeInstances",
            "ec2:DescribeInternetGateways",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeTags",
            "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeVpcs",
        )
    },
    **{
        action: (
            "Elastic Load Balancing's Describe actions support no resource-level permissions; "
            "read-only"
        )
        for action in (
            "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeSSLPolicies",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeTrustStores",
        )
    },
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
"""Actions whose ``Resource: "*"`` is accepted, each with the reason (mostly that it takes no
ARN: no resource type in AWS's Service Authorization Reference)."""

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


def _holds_data(action: str) -> bool:
    return action == "*" or action.partition(":")[0].lower() in DATA_SERVICES


#: An ARN naming every resource of its service (`arn:aws:s3:::*`, `arn:aws:logs:*:*:*`): as broad
#: as Resource '*' for the statement's actions.
_EVERY_RESOURCE_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$")


def _every(resource: object) -> bool:
    return isinstance(resource, str) and (
        resource == "*" or bool(_EVERY_RESOURCE_ARN.match(resource))
    )


def _on_every_resource(statement: Mapping[str, Any]) -> bool:
    return any(_every(r) for r in as_list(statement.get("Resource")))


def unnamed_actions(statement: Mapping[str, Any]) -> list[str]:
    """What an Allow statement grants on ``Resource: "*"`` that the audit does not accept there.

    Accepted: the actions of :data:`RESOURCE_STAR_ALLOWED`, and every other action when the
    Condition scopes the statement by tag or to one service's role (attribute-based; see
    :mod:`cloudmall.audit.conditions`), except on the data services: their resources are named.
    """
    if statement.get("Effect") != "Allow" or not _on_every_resource(statement):
        return []
    actions = [str(a) for a in as_list(statement.get("Action"))]
    unnamed = [a for a in actions if a not in RESOURCE_STAR_ALLOWED]
    if scoping_keys(statement.get("Condition")):
        return [a for a in unnamed if _holds_data(a)]
    return unnamed


def statement_problems(statement: Mapping[str, Any], accepted: Collection[str] = ()) -> list[str]:
    """Why one Allow statement is broader than the guide's example (empty when it is not);
    ``accepted``: further actions whose Resource '*' is not reported."""
    if statement.get("Effect") != "Allow":
        return []
    if "NotAction" in statement:
        return ["NotAction allows everything but the listed actions"]
    if "NotResource" in statement:
        return ["NotResource applies to every resource but the listed ones"]
    actions = [str(a) for a in as_list(statement.get("Action"))]
    problems = [p for p in (_action_problem(a) for a in actions) if p]
    unnamed = [a for a in unnamed_actions(statement) if a not in accepted]
    data = [a for a in unnamed if _holds_data(a)]
    if data:
        problems.append(f"{', '.join(data)} on Resource '*' (name the resources)")
    elif unnamed:
        problems.append(f"{', '.join(unnamed)} on Resource '*' (AWS does not require it)")
    return problems


def _scoping(statements: Sequence[Mapping[str, Any]]) -> str:
    """The condition keys that scope statements on Resource '*' (empty when none)."""
    keys = {
        key
        for s in statements
        if s.get("Effect") == "Allow" and _on_every_resource(s)
        for key in scoping_keys(s.get("Condition"))
    }
    return ", ".join(sorted(keys))


PUBLISHED_CONTROLLER_POLICY = "published-controller-policy"
"""The code of a policy broader than the guide's example only by what AWS's own published
policy of a Kubernetes controller grants (``controllers.PUBLISHED_POLICIES``), on that
controller's role; any other breadth on that role is ``broad-policy``."""


def _policy_problem(
    stack: StackTemplate, lid: str, statements: Sequence[Mapping[str, Any]]
) -> Problem | None:
    found = [message for s in statements for message in statement_problems(s)]
    if not found:
        return None
    published = published_policy(stack, lid)
    if published is not None and not [
        message for s in statements for message in statement_problems(s, published.unscoped)
    ]:
        unnamed = list(dict.fromkeys(a for s in statements for a in unnamed_actions(s)))
        scoping = _scoping(statements)
        return Problem(
            stack.label(lid),
            PUBLISHED_CONTROLLER_POLICY,
            f"the {published.controller}'s policy as AWS publishes it ({published.source}), "
            f"for service account {published.service_account}: {', '.join(unnamed)} on "
            f"Resource '*' with no condition"
            + (f"; its other statements on '*' are scoped by {scoping}" if scoping else ""),
        )
    return Problem(stack.label(lid), "broad-policy", "; ".join(found))


def least_privilege(stack: StackTemplate) -> Outcome:
    """Identity policies grant exact actions on named resources, like the guide's example."""
    evidence: list[str] = []
    problems: list[Problem] = []
    seen = False
    for lid, document in _documents(stack):
        seen = True
        statements = [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]
        problem = _policy_problem(stack, lid, statements)
        if problem is not None:
            problems.append(problem)
            continue
        scoping = _scoping(statements)
        label = stack.label(lid) + (f" (Resource '*' scoped by {scoping})" if scoping else "")
        if label not in evidence:
            evidence.append(label)
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
