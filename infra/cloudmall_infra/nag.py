"""Acknowledging cdk-nag findings, each with a reason, on the narrowest construct possible.

cdk-nag 3 runs as a CDK validation plugin; an acknowledgement is CDK's own
``Validations.of(construct).acknowledge(...)`` and covers the construct and its children.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``AwsSolutions-XX`` or ``AwsSolutions-XX[finding]``)."""
    if len(reason.strip()) < 40:
        raise ValueError(f"{rule_id}: give a reason a reviewer can check, not {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The logical ID cdk-nag prints (``<LogicalId.Arn>``) for an L2 construct's resource."""
    child = construct.node.default_child
    if not isinstance(child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return Stack.of(construct).get_logical_id(child)
