"""Pattern 7's EKS resources priced from a template: the control plane, managed node groups, and
the ALB the load balancer controller makes (not in the template, assumed from its Helm release)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from cloudmall.cost.estimate import estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.template import Assumptions, LoadedTemplate, template_inventory


def helm(chart: str) -> dict[str, Any]:
    return {"Type": "Custom::AWSCDK-EKS-HelmChart", "Properties": {"Chart": chart}}


CLUSTER: dict[str, Any] = {
    "Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {"Version": "1.35"}},
    "Nodes": {
        "Type": "AWS::EKS::Nodegroup",
        "Properties": {
            "InstanceTypes": ["t3.medium"],
            "ScalingConfig": {"MinSize": 2, "DesiredSize": 3, "MaxSize": 6},
        },
    },
    "Controller": helm("aws-load-balancer-controller"),
    "Secrets": helm("external-secrets"),
    "Cni": {"Type": "AWS::EKS::Addon", "Properties": {"AddonName": "vpc-cni"}},
    "Identity": {"Type": "AWS::EKS::PodIdentityAssociation", "Properties": {}},
    "Access": {"Type": "AWS::EKS::AccessEntry", "Properties": {}},
}


def priced(template: dict[str, Any], region: str) -> dict[str, Decimal]:
    loaded = LoadedTemplate("t", Path("t.json"), {"Resources": template})
    inventory = template_inventory(loaded, Assumptions(lcu_per_load_balancer=Decimal(1)))
    assert inventory.unpriced == []
    result = estimate(
        inventory.usage,
        load_price_book(),
        region=region,
        title="t",
        strict=True,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )
    costs: dict[str, Decimal] = {}
    for line in result.lines:
        key = f"{line.usage.service}:{line.usage.sku}"
        costs[key] = costs.get(key, Decimal(0)) + line.cost
    return costs


def test_the_control_plane_costs_ten_cents_an_hour_in_either_region() -> None:
    for region in ("ap-northeast-2", "us-east-1"):
        assert priced(CLUSTER, region)["eks:cluster/standard-support"] == Decimal("72.00")


def test_managed_nodes_are_the_desired_size_of_their_instance_type_with_disks() -> None:
    costs = priced(CLUSTER, "us-east-1")
    assert costs["ec2:t3.medium"] == Decimal("3") * 720 * Decimal("0.0416")  # 89.856
    assert costs["ebs:gp2"] > 0  # 3 × the default 20 GB


def test_without_a_desired_size_the_minimum_runs() -> None:
    nodes = {
        **CLUSTER["Nodes"],
        "Properties": {"InstanceTypes": ["t3.small"], "ScalingConfig": {"MinSize": 2}},
    }
    costs = priced({"Nodes": nodes}, "ap-northeast-2")
    assert costs["ec2:t3.small"] == Decimal("2") * 720 * Decimal("0.026")


def test_the_load_balancer_controller_stands_for_one_internet_facing_alb() -> None:
    costs = priced(CLUSTER, "ap-northeast-2")
    assert costs["elb:alb/hour"] == Decimal("16.2")  # 720 h × $0.0225: one ALB, not two
    assert costs["elb:alb/lcu-hour"] == Decimal("5.76")
    assert costs["public-ipv4:address"] == Decimal("7.2")  # two zones
    without = {k: v for k, v in CLUSTER.items() if k != "Controller"}
    assert "elb:alb/hour" not in priced(without, "ap-northeast-2")
