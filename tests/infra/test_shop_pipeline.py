"""ShopPipeline: GitHub → CodeBuild (buildspec.yml) → staging → approval → production."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from infra_synth import GITHUB_CONNECTION_ARN, Synth

from cloudmall_infra.container_config import ContainerConfig

STACK = "ShopPipeline"


def pipeline(synth: Synth) -> dict[str, Any]:
    (resource,) = synth.resources(STACK, "AWS::CodePipeline::Pipeline").values()
    return resource["Properties"]


def actions(synth: Synth) -> dict[str, dict[str, Any]]:
    return {a["Name"]: a for stage in pipeline(synth)["Stages"] for a in stage["Actions"]}


def test_the_guides_stages_in_order_on_a_v2_pipeline(production: Synth) -> None:
    found = pipeline(production)
    assert found["PipelineType"] == "V2"
    assert [s["Name"] for s in found["Stages"]] == [
        "Source",
        "Build",
        "Staging",
        "Approval",
        "Production",
    ]
    kinds = {name: a["ActionTypeId"]["Provider"] for name, a in actions(production).items()}
    assert kinds == {
        "GitHub": "CodeStarSourceConnection",
        "TestBuildPush": "CodeBuild",
        "DeployStaging": "ECS",
        "ApproveProduction": "Manual",
        "DeployProduction": "ECS",
    }


def test_the_source_is_the_github_connection_from_context(production: Synth) -> None:
    source = actions(production)["GitHub"]["Configuration"]
    assert source["ConnectionArn"] == GITHUB_CONNECTION_ARN
    assert source["FullRepositoryId"] == "example-shop/cloudmall"
    assert source["BranchName"] == "release"


def test_each_deploy_targets_its_stages_service(production: Synth) -> None:
    found = actions(production)
    staging = json.dumps(found["DeployStaging"]["Configuration"]["ServiceName"])
    live = json.dumps(found["DeployProduction"]["Configuration"]["ServiceName"])
    assert "ContainerShopStaging" in staging and "ContainerShopStaging" not in live
    assert "ContainerShop:" in live or "ContainerShop" in live


def test_codebuild_runs_the_repositorys_buildspec_with_docker(production: Synth) -> None:
    (project,) = production.resources(STACK, "AWS::CodeBuild::Project").values()
    props = project["Properties"]
    assert props["Source"]["BuildSpec"] == "buildspec.yml"
    assert props["Environment"]["PrivilegedMode"] is True
    names = {v["Name"] for v in props["Environment"]["EnvironmentVariables"]}
    assert names == {"IMAGE_REPO_NAME", "AWS_ACCOUNT_ID"}
    assert "EncryptionKey" in props


def test_failures_and_pending_approvals_are_notified(production: Synth) -> None:
    (rule,) = production.resources(STACK, "AWS::CodeStarNotifications::NotificationRule").values()
    events = set(rule["Properties"]["EventTypeIds"])
    assert events == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-action-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
    }
    (topic_id,) = production.resources(STACK, "AWS::SNS::Topic")
    assert rule["Properties"]["Targets"] == [
        {"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("github_connection_arn", "arn:aws:s3:::bucket", "CodeConnections connection ARN"),
        ("github_repository", "no-owner", "owner/name"),
    ],
)
def test_bad_pipeline_context_is_refused_at_synth(key: str, value: str, message: str) -> None:
    app = App(context={key: value})
    with pytest.raises(ValueError, match=message):
        ContainerConfig.from_context(app, account="111122223333", region="ap-northeast-2")


def test_each_deploy_role_names_its_own_stages_service_tasks_and_task_roles(
    production: Synth,
) -> None:
    policies = production.resources(STACK, "AWS::IAM::Policy")
    for stage, cluster in (
        ("Staging", "cloudmall-staging"),
        ("Production", "cloudmall-production"),
    ):
        (policy,) = [p for lid, p in policies.items() if lid.startswith(f"Deploy{stage}Role")]
        statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
        unscoped = {
            a for s in statements.values() if s["Resource"] == "*" for a in _as_list(s["Action"])
        }
        assert unscoped == {"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"}
        stack = "ContainerShopStaging" if stage == "Staging" else "ContainerShop"
        assert json.dumps(statements["Service"]["Resource"]).startswith(
            f'{{"Fn::ImportValue": "{stack}:'
        )
        assert f"task/{cluster}/*" in json.dumps(statements["Tasks"]["Resource"])
        passed = json.dumps(statements["PassTaskRoles"]["Resource"])
        assert passed.count(f"{stack}:") == 2  # the task role and the execution role, no "*"
    action_roles = [
        a["RoleArn"] for a in actions(production).values() if a["Name"].startswith("Deploy")
    ]
    assert all("Deploy" in json.dumps(arn) for arn in action_roles)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
