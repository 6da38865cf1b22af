"""Least privilege: every IAM policy statement in every template, with an explicit allow-list."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from infra_synth import Synth

ECS_DEPLOY_ROLES = ("DeployStagingRole", "DeployProductionRole")
ECS_DEPLOY_ACTIONS = ("ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition")
# Statements allowed an unscoped resource ("*"), keyed by (the policy's logical-ID prefix, the
# statement's actions). Each entry: why the service or CDK requires it.
UNSCOPED_RESOURCE_ALLOW_LIST: dict[tuple[str, frozenset[str]], str] = {
    (
        "CustomCDKBucketDeployment",
        frozenset({"cloudfront:GetInvalidation", "cloudfront:CreateInvalidation"}),
    ): "aws-cdk-lib's BucketDeployment handler invalidates /static/* after a deployment; CDK "
    "grants these two actions on * (not configurable). Runs only during deployments.",
    **{
        (prefix, frozenset({"ecr:GetAuthorizationToken"})): "docker login to ECR: the action "
        "has no resource-level permissions; pulls and pushes are granted on one repository."
        for prefix in (
            "AppRole",
            "ServerRole",
            "ShopTaskExecutionRole",
            "LakeExportTaskExecutionRole",
            "BuildRole",
        )
    },
    **{
        (prefix, frozenset(ECS_DEPLOY_ACTIONS)): "The pipeline's ECS deploy roles: registering "
        "and describing task definitions have no resource-level permissions in IAM."
        for prefix in ECS_DEPLOY_ROLES
    },
    **{
        (f"Functions{name}role", frozenset(actions)): reason
        for name in ("accounts", "catalogue", "orders", "migrate", "mail")
        for actions, reason in (
            (
                {
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                },
                "Lambda's VPC networking: these EC2 actions take no resource-level permissions "
                "(AWSLambdaVPCAccessExecutionRole grants the same on *).",
            ),
            (
                {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
                "X-Ray tracing: these actions take no resource-level permissions.",
            ),
        )
    },
    (
        "PasswordPolicyCustomResourcePolicy",
        frozenset({"iam:UpdateAccountPasswordPolicy"}),
    ): "The account password policy has no ARN: IAM supports no resource-level permission for "
    "it. The only action of the SecurityBaseline's custom resource.",
    (
        "AppRole",
        frozenset(
            {"autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups"}
        ),
    ): "Describe* of Auto Scaling has no resource-level permissions: an instance finds its "
    "group (to complete its launch hook) and whether it runs the nightly backup.",
}
# Policies allowed action wildcards such as s3:GetObject* (never "*" or "service:*").
ACTION_WILDCARD_ALLOW_LIST: dict[str, str] = {
    "CustomCDKBucketDeployment": "aws-cdk-lib's BucketDeployment read/sync grant on the asset "
    "bucket and the media bucket (s3:GetObject*, s3:List*, s3:DeleteObject*, s3:Abort*).",
    **{
        prefix: "CDK's pipeline grants on the pipeline's own artifact bucket (s3:GetObject*, "
        "s3:List*, ...) and its own artifact KMS key (kms:GenerateDataKey*, kms:ReEncrypt*)."
        for prefix in (
            "BuildRole",
            "PipelineRole",
            "PipelineSourceGitHub",
            "PipelineApproval",
        )
    },
}
# AWS managed policies that may be attached, and to which roles (logical-ID prefix).
MANAGED_POLICY_ALLOW_LIST: dict[str, set[str]] = {
    "AmazonSSMManagedInstanceCore": {"AppRole", "ServerRole"},
    "CloudWatchAgentServerPolicy": {"AppRole", "ServerRole"},
    "service-role/AWSLambdaBasicExecutionRole": {
        "CustomCDKBucketDeployment",
        "AWSCDKTriggerCustomResourceProvider",  # runs the migration trigger at deploy time
        "AWS679f53fac002430cb0da5b7982bd2287",  # CDK's AwsCustomResource (the password policy)
    },
    "service-role/AWSBackupServiceRolePolicyForBackup": {"BackupsPlanDatabaseRole"},
    "service-role/AWSBackupServiceRolePolicyForRestores": {"BackupsRestoreTestsRole"},
    "service-role/AWS_ConfigRole": {"ConfigRole"},
    # MicroservicesShop (EKS): what aws-cdk-lib's aws_eks_v2 gives the cluster, its nodes and
    # its kubectl handler, as AWS documents them for EKS.
    "AmazonEKSClusterPolicy": {"ClusterRole"},
    "AmazonEKSWorkerNodePolicy": {"ClusterNodegroupNodes"},
    "AmazonEKS_CNI_Policy": {"ClusterNodegroupNodes"},
    "AmazonEC2ContainerRegistryReadOnly": {"ClusterNodegroupNodes", "ClusterKubectlProvider"},
    "AmazonElasticContainerRegistryPublicReadOnly": {"ClusterKubectlProvider"},
    "service-role/AWSLambdaVPCAccessExecutionRole": {"ClusterKubectlProvider"},
}
MANAGED_POLICY_ALLOW_LIST["service-role/AWSLambdaBasicExecutionRole"] |= {
    "ClusterKubectlProvider",  # applies the manifests and Helm charts at deploy time
    "AWSCDKCfnUtilsProvider",  # aws-cdk-lib's CfnJson (the controller's trust condition)
}

_UNSCOPED_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_statements(synth: Synth) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stack, policy logical id, statement) for every identity-based policy statement."""
    for stack, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            kind, p = resource["Type"], resource.get("Properties", {})
            if kind in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
                for statement in p["PolicyDocument"]["Statement"]:
                    yield stack, logical_id, statement
            elif kind == "AWS::IAM::Role":
                for policy in p.get("Policies", []):
                    for statement in policy["PolicyDocument"]["Statement"]:
                        yield stack, logical_id, statement


def _unscoped(resource: Any) -> bool:
    return resource == "*" or (isinstance(resource, str) and bool(_UNSCOPED_ARN.match(resource)))


def _allowed(table: dict, logical_id: str, key: Any = None) -> bool:
    for entry in table:
        prefix = entry[0] if isinstance(entry, tuple) else entry
        if logical_id.startswith(prefix) and (key is None or entry[1] == key):
            return True
    return False


def _published_controller_statement(logical_id: str, statement: dict[str, Any]) -> bool:
    """A statement of the AWS Load Balancer Controller's policy as AWS publishes it: scoped by
    its conditions, or among the actions it grants on '*' (what `cloudmall audit` accepts for
    the controller's role alone, tests/unit/audit)."""
    from cloudmall.audit.access import RESOURCE_STAR_ALLOWED, statement_problems
    from cloudmall.audit.controllers import AWS_LOAD_BALANCER_CONTROLLER

    if "AlbController" not in logical_id:
        return False
    accepted = AWS_LOAD_BALANCER_CONTROLLER.unscoped | set(RESOURCE_STAR_ALLOWED)
    return not statement_problems(statement) or set(_as_list(statement["Action"])) <= accepted


def test_no_unscoped_resources_outside_the_allow_list(all_synths: dict[str, Synth]) -> None:
    offenders = []
    for name, synth in all_synths.items():
        for stack, logical_id, statement in identity_statements(synth):
            if statement["Effect"] != "Allow" or _published_controller_statement(
                logical_id, statement
            ):
                continue
            actions = frozenset(_as_list(statement["Action"]))
            if any(_unscoped(r) for r in _as_list(statement["Resource"])) and not _allowed(
                UNSCOPED_RESOURCE_ALLOW_LIST, logical_id, actions
            ):
                offenders.append((name, stack, logical_id, sorted(actions)))
    assert offenders == []


def test_no_action_wildcards_outside_the_allow_list(all_synths: dict[str, Synth]) -> None:
    offenders = []
    for name, synth in all_synths.items():
        for stack, logical_id, statement in identity_statements(synth):
            for action in _as_list(statement["Action"]):
                if action == "*" or action.endswith(":*"):
                    offenders.append((name, stack, logical_id, action))  # never allowed
                elif "*" in action and not _allowed(ACTION_WILDCARD_ALLOW_LIST, logical_id):
                    offenders.append((name, stack, logical_id, action))
    assert offenders == []


def test_managed_policies_are_the_documented_ones(all_synths: dict[str, Synth]) -> None:
    for synth in all_synths.values():
        for template in synth.templates.values():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::IAM::Role":
                    continue
                for arn in resource["Properties"].get("ManagedPolicyArns", []):
                    name = json.dumps(arn).split(":policy/")[1].split('"')[0]
                    assert name in MANAGED_POLICY_ALLOW_LIST, (logical_id, name)
                    assert any(logical_id.startswith(p) for p in MANAGED_POLICY_ALLOW_LIST[name]), (
                        logical_id,
                        name,
                    )


# AWS services a key policy may name besides the account: who encrypts with which key.
KEY_USERS = {
    "cloudwatch.amazonaws.com",  # alarms publishing to the encrypted alarm topics
    "events.amazonaws.com",  # GuardDuty findings to the baseline's alarm topic
    "cloudtrail.amazonaws.com",  # the trail's log files (SecurityBaseline)
    "config.amazonaws.com",  # AWS Config's snapshots (SecurityBaseline)
    "codestar-notifications.amazonaws.com",  # pipeline failures, the pipeline's own topic key
}


def test_kms_key_policies_only_name_the_account_and_the_services_that_encrypt(
    production: Synth,
) -> None:
    """In a key policy "Resource": "*" means the key itself; what matters is who. The one
    conditional grant (any principal) is pinned to Auto Scaling's service-linked role in this
    account by ``aws:PrincipalArn`` and ``kms:CallerAccount``."""
    for template in production.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::KMS::Key":
                continue
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
                principal = statement["Principal"]
                if principal == {"AWS": "*"}:
                    pinned = statement["Condition"]["StringEquals"]
                    assert pinned["kms:CallerAccount"] == "111122223333"
                    assert json.dumps(pinned["aws:PrincipalArn"]).endswith(
                        ":iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/"
                        'AWSServiceRoleForAutoScaling"]]}'
                    )
                    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
                    continue
                assert principal in (
                    *({"Service": service} for service in KEY_USERS),
                    {
                        "AWS": {
                            "Fn::Join": [
                                "",
                                ["arn:", {"Ref": "AWS::Partition"}, ":iam::111122223333:root"],
                            ]
                        }
                    },
                ), principal


def test_app_role_reads_only_its_own_settings_and_three_buckets(production: Synth) -> None:
    statements = [
        s
        for stack, lid, s in identity_statements(production)
        if stack == "ShoppingMall" and lid.startswith("AppRole")
    ]
    by_service: dict[str, list[dict[str, Any]]] = {}
    for s in statements:
        for action in _as_list(s["Action"]):
            by_service.setdefault(action.split(":")[0], []).append(s)
    assert set(by_service) == {
        "ssm",
        "secretsmanager",
        "s3",
        "cloudformation",
        "autoscaling",
        "ecr",
    }
    # the image: pulled from its one repository (login has no resource-level permissions)
    pulls = [s for s in by_service["ecr"] if s["Resource"] != "*"]
    assert {a for s in pulls for a in _as_list(s["Action"])} == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
    }
    assert all("container-assets" in json.dumps(s["Resource"]) for s in pulls)
    # the launch hook: complete it for this stack's groups only; find the group (Describe*)
    complete = [s for s in by_service["autoscaling"] if s["Sid"] == "CompleteOwnLaunchHook"]
    assert [s["Action"] for s in complete] == ["autoscaling:CompleteLifecycleAction"]
    assert "autoScalingGroupName/ShoppingMall-*" in json.dumps(complete[0]["Resource"])
    # cfn-signal: the instances report readiness to their own stack, nothing else
    assert by_service["cloudformation"] == [
        {
            "Action": "cloudformation:SignalResource",
            "Effect": "Allow",
            "Resource": {"Ref": "AWS::StackId"},
        }
    ]
    template = production.templates["ShoppingMall"]["Resources"]
    own_secrets = {
        lid
        for lid, r in template.items()
        if r["Type"]
        in {"AWS::SecretsManager::Secret", "AWS::SecretsManager::SecretTargetAttachment"}
    }
    for s in by_service["secretsmanager"]:
        assert set(_as_list(s["Action"])) == {
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        }
        assert s["Resource"]["Ref"] in own_secrets
    own_parameters = {lid for lid, r in template.items() if r["Type"] == "AWS::SSM::Parameter"}
    for s in by_service["ssm"]:
        ref = s["Resource"]["Fn::Join"][1][-1]["Ref"]
        assert ref in own_parameters
    s3_resources = set()
    for s in by_service["s3"]:
        actions = set(_as_list(s["Action"]))
        assert actions <= {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}
        s3_resources.add(json.dumps(s["Resource"]))
    buckets = {"MediaBucket4022EBBF", "BackupsBucket2936A3AA", "LakeBucketB1D32E10"}
    for resource in s3_resources:
        assert any(b in resource for b in buckets), resource
