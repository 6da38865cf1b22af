"""Pattern 5's resources priced from a template: Fargate tasks, ECR, CodeBuild, CodePipeline."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from cloudmall.cost.estimate import estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.template import Assumptions, LoadedTemplate, template_inventory

USAGE = Assumptions(
    ecr_storage_gb=Decimal(10), codebuild_minutes=Decimal(300), pipeline_action_minutes=Decimal(500)
)


def resources(service: dict[str, Any], *, scaling_minimum: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {"Cpu": "1024", "Memory": "2048"},
        },
        "Service": {"Type": "AWS::ECS::Service", "Properties": service},
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
        "Images": {"Type": "AWS::ECR::Repository", "Properties": {}},
        "Build": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {"Environment": {"ComputeType": "BUILD_GENERAL1_SMALL"}},
        },
        "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"PipelineType": "V2"}},
        "Rule": {"Type": "AWS::CodeStarNotifications::NotificationRule", "Properties": {}},
    }
    if scaling_minimum is not None:
        found["Target"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "MinCapacity": scaling_minimum,
                "MaxCapacity": 10,
                "ResourceId": {
                    "Fn::Join": [
                        "",
                        ["service/", {"Ref": "Cluster"}, "/", {"Fn::GetAtt": ["Service", "Name"]}],
                    ]
                },
            },
        }
    return found


def priced(template: dict[str, Any], region: str = "ap-northeast-2") -> dict[str, Decimal]:
    loaded = LoadedTemplate("t", Path("t.json"), {"Resources": template})
    inventory = template_inventory(loaded, USAGE)
    result = estimate(
        inventory.usage,
        load_price_book(),
        region=region,
        title="t",
        strict=True,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )
    assert inventory.unpriced == []
    costs: dict[str, Decimal] = {}
    for line in result.lines:
        key = f"{line.usage.service}:{line.usage.sku}"
        costs[key] = costs.get(key, Decimal(0)) + line.cost
    return costs


def test_fargate_prices_the_scaling_minimum_of_tasks_by_vcpu_and_memory_hours() -> None:
    service = {"LaunchType": "FARGATE", "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 5}
    costs = priced(resources(service, scaling_minimum=2))
    # Seoul: 2 tasks × 1 vCPU × 720 h × $0.04656, 2 tasks × 2 GB × 720 h × $0.00511
    assert costs["fargate:vcpu-hour"] == Decimal("67.0464")
    assert costs["fargate:gb-hour"] == Decimal("14.7168")


def test_without_scaling_fargate_prices_the_desired_count() -> None:
    service = {"LaunchType": "FARGATE", "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 3}
    costs = priced(resources(service, scaling_minimum=None), region="us-east-1")
    assert costs["fargate:vcpu-hour"] == 3 * 720 * Decimal("0.04048")


def test_ecr_codebuild_and_codepipeline_from_the_assumptions() -> None:
    service = {"TaskDefinition": {"Ref": "Task"}}
    costs = priced(resources(service, scaling_minimum=2))
    assert costs["ecr:storage-gb-month"] == Decimal("1.0")  # 10 GB × $0.10
    assert costs["codebuild:build_general1_small"] == Decimal("1.5")  # 300 min × $0.005
    assert costs["codepipeline:v2-action-minute"] == Decimal("1.0")  # 500 min × $0.002


def test_a_v1_pipeline_is_priced_per_active_pipeline() -> None:
    template = resources({"TaskDefinition": {"Ref": "Task"}}, scaling_minimum=1)
    template["Pipeline"]["Properties"] = {}
    assert priced(template)["codepipeline:v1-active-pipeline"] == Decimal("1.00")
