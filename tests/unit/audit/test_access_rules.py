"""Access rules on small templates: the guide's least-privilege example, roles, account items."""

from __future__ import annotations

from typing import Any

import pytest

from cloudmall.audit import access
from cloudmall.audit.controllers import AWS_LOAD_BALANCER_CONTROLLER
from cloudmall.audit.engine import judge
from cloudmall.audit.model import Status
from cloudmall.audit.rules import RULES_BY_ID
from cloudmall.audit.stack import StackTemplate
from tests.unit.audit.templates import allow, arn, baseline, policy, ref, stack

GUIDE_EXAMPLE = policy(
    allow(
        ["s3:GetObject", "s3:ListBucket"],
        ["arn:aws:s3:::my-shopping-mall-images", "arn:aws:s3:::my-shopping-mall-images/*"],
    ),
    allow(
        "rds-db:connect",
        "arn:aws:rds-db:ap-northeast-2:123456789012:dbuser:db-instance-id/app-user",
    ),
)


def test_the_guides_own_example_passes() -> None:
    outcome = access.least_privilege(stack({"Guide": GUIDE_EXAMPLE}))
    assert outcome.evidence == ("Shop/Guide",) and not outcome.problems


def test_s3_star_on_star_is_reported_for_the_action_and_the_resource() -> None:
    outcome = access.least_privilege(stack({"Broad": policy(allow("s3:*", "*"))}))
    [problem] = outcome.problems
    assert problem.resource == "Shop/Broad"
    assert "Action 's3:*' (every action of s3)" in problem.message
    assert "s3:* on Resource '*' (name the resources)" in problem.message


def test_a_star_action_is_reported_even_on_a_named_resource() -> None:
    outcome = access.least_privilege(stack({"P": policy(allow("*", arn("Bucket")))}))
    assert "Action '*'" in outcome.problems[0].message


def test_data_actions_on_star_are_reported_but_actions_aws_has_no_arn_for_are_not() -> None:
    shop = stack(
        {
            "Secrets": policy(allow("secretsmanager:GetSecretValue", "*")),
            "Metrics": policy(allow("cloudwatch:PutMetricData", "*")),
            "Registry": policy(allow("ecr:GetAuthorizationToken", "*")),
            "Ec2": policy(allow("ec2:RunInstances", "*")),
        }
    )
    outcome = access.least_privilege(shop)
    assert outcome.evidence == ("Shop/Metrics", "Shop/Registry")
    messages = {p.resource: p.message for p in outcome.problems}
    assert messages["Shop/Secrets"] == (
        "secretsmanager:GetSecretValue on Resource '*' (name the resources)"
    )
    assert "AWS does not require it" in messages["Shop/Ec2"]


def test_not_action_and_inline_role_policies_are_read() -> None:
    role = (
        "AWS::IAM::Role",
        {
            "Policies": [
                {
                    "PolicyName": "x",
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
                    },
                }
            ]
        },
    )
    outcome = access.least_privilege(stack({"Role": role}))
    assert [p.message for p in outcome.problems] == [
        "NotAction allows everything but the listed actions"
    ]


def test_deny_statements_are_not_grants() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert not access.least_privilege(stack({"P": policy(deny)})).problems


def test_users_access_keys_and_roleless_instances_are_reported() -> None:
    shop = stack(
        {
            "Deployer": ("AWS::IAM::User", {}),
            "Key": ("AWS::IAM::AccessKey", {"UserName": {"Ref": "Deployer"}}),
            "Server": ("AWS::EC2::Instance", {"ImageId": "ami-1"}),
            "Role": ("AWS::IAM::Role", {}),
        }
    )
    outcome = access.iam_roles(shop)
    assert sorted(p.code for p in outcome.problems) == ["access-key", "iam-user", "no-role"]


def test_account_items_are_covered_only_by_the_config_rules_and_the_password_setter() -> None:
    covered = [stack(baseline(), name="SecurityBaseline")]
    assert not access.mfa(covered).problems
    assert not access.access_key_rotation(covered).problems
    assert not access.password_policy(covered).problems
    assert "SecurityBaseline/PasswordPolicy" in access.password_policy(covered).evidence

    shop_only = [stack({"Role": ("AWS::IAM::Role", {})})]
    assert {p.message for p in access.mfa(shop_only).problems} >= {
        "no AWS Config rule ROOT_ACCOUNT_MFA_ENABLED",
        "no AWS Config recorder",
    }
    assert "nothing sets the account password policy" in {
        p.message for p in access.password_policy(shop_only).problems
    }


def test_a_key_age_above_90_days_does_not_count_as_rotation() -> None:
    resources = baseline()
    resources["RuleACCESS_KEYS_ROTATED"] = (
        "AWS::Config::ConfigRule",
        {
            "Source": {"Owner": "AWS", "SourceIdentifier": "ACCESS_KEYS_ROTATED"},
            "InputParameters": {"maxAccessKeyAge": "365"},
        },
    )
    problems = access.access_key_rotation([stack(resources)]).problems
    assert [p.code for p in problems] == ["key-age"]


# ---------------------------------------------------------------------------------------------
# Resource '*' scoped by a condition (attribute-based), and a controller's published policy

CLUSTER_TAG = "aws:ResourceTag/elbv2.k8s.aws/cluster"


def conditioned(action: str | list[str], condition: dict[str, Any]) -> dict[str, Any]:
    return {**allow(action, "*"), "Condition": condition}


def test_a_tag_conditioned_statement_on_star_passes_and_the_evidence_says_so() -> None:
    scoped = conditioned(
        ["elasticloadbalancing:DeleteLoadBalancer", "ec2:DeleteSecurityGroup"],
        {"Null": {CLUSTER_TAG: "false"}},
    )
    outcome = access.least_privilege(stack({"Controller": policy(scoped)}))
    assert not outcome.problems
    assert outcome.evidence == (f"Shop/Controller (Resource '*' scoped by {CLUSTER_TAG})",)


def test_the_same_statement_without_the_condition_fails() -> None:
    bare = allow(["elasticloadbalancing:DeleteLoadBalancer", "ec2:DeleteSecurityGroup"], "*")
    [problem] = access.least_privilege(stack({"Controller": policy(bare)})).problems
    assert problem.code == "broad-policy"
    assert problem.message == (
        "elasticloadbalancing:DeleteLoadBalancer, ec2:DeleteSecurityGroup on Resource '*' "
        "(AWS does not require it)"
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"Null": {CLUSTER_TAG: "true"}},  # the tag must be absent: every untagged resource
        {"StringNotEquals": {CLUSTER_TAG: "shop"}},
        {"StringEqualsIfExists": {CLUSTER_TAG: "shop"}},  # true when the tag is absent
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},  # true for an empty set
        {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},  # not a tag
        {"StringEquals": {"iam:AWSServiceName": "*"}},  # a literal '*' names no service
        {"StringLike": {"iam:AWSServiceName": "*.amazonaws.com"}},  # every service
        {"StringEquals": {CLUSTER_TAG: ""}},
    ],
)
def test_conditions_that_do_not_scope_to_tagged_resources_leave_the_statement_broad(
    condition: dict[str, Any],
) -> None:
    statement = conditioned("ec2:DeleteSecurityGroup", condition)
    assert access.least_privilege(stack({"P": policy(statement)})).problems


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": "shop"}},
        {"StringLike": {"ec2:ResourceTag/elbv2.k8s.aws/cluster": "*"}},  # the service's own key
        {"null": {"AWS:ResourceTag/team": False}},  # keys and operators ignore case
        {
            "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
            "Null": {CLUSTER_TAG: "false"},
        },
    ],
)
def test_tag_conditions_scope_whatever_their_spelling(condition: dict[str, Any]) -> None:
    statement = conditioned("ec2:CreateSecurityGroup", condition)
    assert not access.least_privilege(stack({"P": policy(statement)})).problems


def test_a_service_linked_role_for_one_named_service_is_scoped() -> None:
    statement = conditioned(
        "iam:CreateServiceLinkedRole",
        {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
    )
    outcome = access.least_privilege(stack({"P": policy(statement)}))
    assert outcome.evidence == ("Shop/P (Resource '*' scoped by iam:AWSServiceName)",)


def test_a_tag_condition_does_not_excuse_unnamed_data_resources() -> None:
    """Data is named, as in the guide's example: a tag anyone allowed to tag can add is no
    substitute for the bucket's or the secret's ARN."""
    statement = conditioned(
        ["secretsmanager:GetSecretValue", "ec2:DeleteSecurityGroup"],
        {"StringEquals": {"aws:ResourceTag/project": "cloudmall"}},
    )
    [problem] = access.least_privilege(stack({"P": policy(statement)})).problems
    assert problem.message == "secretsmanager:GetSecretValue on Resource '*' (name the resources)"


def test_describe_actions_aws_takes_no_arn_for_pass_on_star() -> None:
    reads = allow(
        ["ec2:DescribeVpcs", "elasticloadbalancing:DescribeTargetHealth", "acm:ListCertificates"],
        "*",
    )
    assert not access.least_privilege(stack({"P": policy(reads)})).problems
    # a read AWS does take an ARN for is not among them
    certificate = allow("acm:DescribeCertificate", "*")
    assert access.least_privilege(stack({"P": policy(certificate)})).problems


def irsa_role() -> tuple[str, dict[str, Any]]:
    """A role for a Kubernetes service account, its trust condition in aws-cdk-lib's JSON holder
    (the keys name the cluster's OIDC provider, known only at deploy time)."""
    return (
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Effect": "Allow",
                        "Principal": {"Federated": ref("Oidc")},
                        "Condition": {"StringEquals": {"Fn::GetAtt": ["Trust", "Value"]}},
                    }
                ]
            }
        },
    )


def cfn_json(subject: str) -> tuple[str, dict[str, Any]]:
    provider = {"Fn::Select": [1, {"Fn::Split": [":oidc-provider/", ref("Oidc")]}]}
    return (
        "Custom::AWSCDKCfnJson",
        {"Value": {"Fn::Join": ["", ['{"', provider, f':sub":"{subject}"}}']]}},
    )


CONTROLLER = "system:serviceaccount:kube-system:aws-load-balancer-controller"
PUBLISHED = AWS_LOAD_BALANCER_CONTROLLER.unscoped


def controller_stack(
    *statements: dict[str, Any], subject: str = CONTROLLER, pattern: str = "microservices"
) -> StackTemplate:
    role_policy = policy(*statements)
    role_policy[1]["Roles"] = [ref("Role")]
    return stack(
        {"Role": irsa_role(), "Trust": cfn_json(subject), "Policy": role_policy},
        pattern=pattern,
    )


def test_the_controllers_published_policy_gets_its_own_code() -> None:
    shop = controller_stack(
        allow(sorted(PUBLISHED), "*"),
        conditioned("ec2:DeleteSecurityGroup", {"Null": {CLUSTER_TAG: "false"}}),
    )
    [problem] = access.least_privilege(shop).problems
    assert problem.code == access.PUBLISHED_CONTROLLER_POLICY
    assert "kube-system/aws-load-balancer-controller" in problem.message
    assert f"its other statements on '*' are scoped by {CLUSTER_TAG}" in problem.message


def test_anything_beyond_the_published_policy_on_that_role_is_a_broad_policy() -> None:
    shop = controller_stack(allow([*sorted(PUBLISHED), "ec2:RunInstances"], "*"))
    [problem] = access.least_privilege(shop).problems
    assert problem.code == "broad-policy"
    assert "ec2:RunInstances on Resource '*'" in problem.message


def test_the_published_policy_on_another_service_accounts_role_is_a_broad_policy() -> None:
    shop = controller_stack(
        allow(sorted(PUBLISHED), "*"), subject="system:serviceaccount:cloudmall:orders"
    )
    assert [p.code for p in access.least_privilege(shop).problems] == ["broad-policy"]


def test_a_wildcard_subject_or_a_second_principal_is_not_the_controllers_role() -> None:
    wildcard = controller_stack(allow(sorted(PUBLISHED), "*"), subject=CONTROLLER + "*")
    assert [p.code for p in access.least_privilege(wildcard).problems] == ["broad-policy"]

    shared = controller_stack(allow(sorted(PUBLISHED), "*"))
    trust = shared.resources["Role"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"].append(
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ec2"}}
    )
    assert [p.code for p in access.least_privilege(shared).problems] == ["broad-policy"]


def test_the_published_policy_is_exempt_in_the_microservices_pattern_only() -> None:
    rule = RULES_BY_ID["least-privilege"]
    shop = controller_stack(allow(sorted(PUBLISHED), "*"))
    exempt = judge(rule, shop, None)
    assert exempt.status is Status.exempt
    assert "exempt: the AWS Load Balancer Controller runs with" in exempt.reasons[0]

    elsewhere = controller_stack(allow(sorted(PUBLISHED), "*"), pattern="3-tier")
    assert judge(rule, elsewhere, None).status is Status.not_met
    assert rule.exemption("microservices", "broad-policy") is None


@pytest.mark.parametrize("every", ["arn:aws:s3:::*", "arn:aws:logs:*:*:*", ["x", "*"]])
def test_an_arn_of_every_resource_is_as_broad_as_star(every: Any) -> None:
    shop = stack(
        {
            "Broad": policy(allow("s3:GetObject", every)),
            "Named": policy(allow("s3:GetObject", "arn:aws:s3:::shop-media/*")),
            "Token": policy(allow("ecr:GetAuthorizationToken", "arn:aws:ecr:*:*:*")),
        }
    )
    outcome = access.least_privilege(shop)
    assert outcome.evidence == ("Shop/Named", "Shop/Token")
    [problem] = outcome.problems
    assert problem.resource == "Shop/Broad" and "(name the resources)" in problem.message
