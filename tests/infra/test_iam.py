"""Least privilege: every IAM policy statement in every template, judged by the audit's own rules
(`cloudmall audit`, src/cloudmall/audit/access.py); the managed policies and the key policies,
which the audit does not judge, against the lists here."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra_synth import Synth

from cloudmall.audit import access
from cloudmall.audit.rules import RULES_BY_ID
from cloudmall.audit.stack import StackTemplate

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


def test_every_identity_policy_passes_the_audits_least_privilege(
    all_synths: dict[str, Synth],
) -> None:
    """The audit's rules judge every policy (cloudmall.audit.access: no '*' or 'service:*'
    action, Resource '*' only for the actions AWS takes no ARN for); the one breadth left is
    the one the checklist exempts, for its reason (the controller's published policy)."""
    rule = RULES_BY_ID["least-privilege"]
    judged, open_problems = 0, []
    for name, synth in all_synths.items():
        for stack_name, template in synth.templates.items():
            stack = StackTemplate(stack_name, template)
            outcome = access.least_privilege(stack)
            judged += len(outcome.evidence) + len(outcome.problems)
            open_problems += [
                (name, str(problem))
                for problem in outcome.problems
                if rule.exemption(stack.pattern, problem.code) is None
            ]
    assert open_problems == []
    statements = sum(1 for synth in all_synths.values() for _ in identity_statements(synth))
    assert judged > 0 and statements >= judged  # every policy is judged, none left out


def test_this_file_keeps_no_allow_list_of_the_audits() -> None:
    """The actions the audit accepts on Resource '*' are its data alone: repeated here, an
    allow-list would drift from the rules `cloudmall audit` applies."""
    tree = ast.parse(Path(__file__).read_text())
    named = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in access.RESOURCE_STAR_ALLOWED
    }
    assert named == set()


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
