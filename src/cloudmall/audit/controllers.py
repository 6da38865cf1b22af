"""IAM policies AWS publishes for Kubernetes controllers, and the service account a role serves.

A controller's policy is AWS's to write: a stack installs it as published (aws-cdk-lib ships
each version's copy) so that it keeps in step with the controller. What such a policy still
grants on ``Resource: "*"`` with no condition is listed here, action by action, so that the
audit can tell it from anything else on that role.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cloudmall.audit.stack import StackTemplate, as_list, target

# the subject ends at its closing quote (\" inside aws-cdk-lib's JSON holder): no wildcard
_SUBJECT = re.compile(r'system:serviceaccount:([a-z0-9.-]+):([a-z0-9.-]+)(?=\\?")')
_CFN_JSON = "Custom::AWSCDKCfnJson"
"""aws-cdk-lib's holder of a trust condition whose keys are only known at deploy time."""


@dataclass(frozen=True)
class PublishedPolicy:
    controller: str
    service_account: str
    """``namespace/name`` of the service account whose role carries it."""
    source: str
    """Where AWS publishes it."""
    unscoped: frozenset[str]
    """The actions it grants on ``Resource: "*"`` with no condition, beyond the actions the
    audit accepts on '*' for every role (``access.RESOURCE_STAR_ALLOWED``)."""


AWS_LOAD_BALANCER_CONTROLLER = PublishedPolicy(
    controller="AWS Load Balancer Controller",
    service_account="kube-system/aws-load-balancer-controller",
    # aws-cdk-lib's aws_eks_v2 AlbControllerVersion.V2_9_2 installs that file unchanged
    source="v2.9.2, kubernetes-sigs/aws-load-balancer-controller docs/install/iam_policy.json",
    unscoped=frozenset(
        {
            # reads of what an Ingress names (certificate, Cognito client, web ACL, protection)
            "ec2:GetCoipPoolUsage",
            "cognito-idp:DescribeUserPoolClient",
            "acm:DescribeCertificate",
            "iam:GetServerCertificate",
            "waf-regional:GetWebACL",
            "waf-regional:GetWebACLForResource",
            "wafv2:GetWebACL",
            "wafv2:GetWebACLForResource",
            "shield:DescribeProtection",
            # attaching the web ACL and Shield protection an Ingress names to its load balancer
            "waf-regional:AssociateWebACL",
            "waf-regional:DisassociateWebACL",
            "wafv2:AssociateWebACL",
            "wafv2:DisassociateWebACL",
            "elasticloadbalancing:SetWebAcl",
            "shield:CreateProtection",
            "shield:DeleteProtection",
            # security groups, listeners and rules of load balancers it names at run time
            "ec2:CreateSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
            "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:AddListenerCertificates",
            "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:CreateRule",
            "elasticloadbalancing:DeleteRule",
            "elasticloadbalancing:ModifyRule",
        }
    ),
)

PUBLISHED_POLICIES: Mapping[str, PublishedPolicy] = {
    policy.service_account: policy for policy in (AWS_LOAD_BALANCER_CONTROLLER,)
}
"""By the service account (``namespace/name``) whose role carries the policy."""


def _roles(stack: StackTemplate, logical_id: str) -> Iterator[str]:
    """The roles an identity policy is attached to (a role's inline policy: the role itself)."""
    if stack.type_of(logical_id) == "AWS::IAM::Role":
        yield logical_id
        return
    for role in as_list(stack.properties(logical_id).get("Roles")):
        lid = target(role)
        if stack.type_of(lid) == "AWS::IAM::Role":
            assert lid is not None
            yield lid


def _resolved(stack: StackTemplate, value: Any) -> Any:
    """``value`` with aws-cdk-lib's deploy-time JSON holders replaced by what they hold."""
    if isinstance(value, Mapping):
        lid = target(value)
        if lid is not None and stack.type_of(lid) == _CFN_JSON:
            return stack.properties(lid).get("Value")
        return {k: _resolved(stack, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(stack, v) for v in value]
    return value


def service_accounts(stack: StackTemplate, logical_id: str) -> set[str]:
    """``namespace/name`` of the Kubernetes service accounts whose web identity (IRSA) may assume
    the roles that the identity policy ``logical_id`` is attached to; empty when anything else
    may assume one of them too (another principal, or a web identity not bound to an account)."""
    found: set[str] = set()
    for role in _roles(stack, logical_id):
        trust = stack.properties(role).get("AssumeRolePolicyDocument")
        statements = as_list(trust.get("Statement")) if isinstance(trust, Mapping) else []
        for statement in statements:
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            text = json.dumps(_resolved(stack, statement.get("Condition")))
            subjects = {f"{ns}/{name}" for ns, name in _SUBJECT.findall(text)}
            web_identity = as_list(statement.get("Action")) == ["sts:AssumeRoleWithWebIdentity"]
            if not web_identity or not subjects:
                return set()
            found |= subjects
    return found


def published_policy(stack: StackTemplate, logical_id: str) -> PublishedPolicy | None:
    """The published controller policy an identity policy is, judged by the one service
    account its role serves (None for any other role, or a role several accounts share)."""
    accounts = service_accounts(stack, logical_id)
    if len(accounts) != 1:
        return None
    return PUBLISHED_POLICIES.get(accounts.pop())
