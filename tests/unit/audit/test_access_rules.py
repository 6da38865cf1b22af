"""Access rules on small templates: the guide's least-privilege example, roles, account items."""

from __future__ import annotations

from cloudmall.audit import access
from tests.unit.audit.templates import allow, arn, baseline, policy, stack

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
