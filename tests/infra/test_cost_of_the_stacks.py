"""`cloudmall cost` on the templates this app really synthesizes: every resource accounted for."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from infra_synth import Synth

from cloudmall.cost.estimate import estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.template import Assumptions, load_template, template_inventory

USAGE = Assumptions(
    s3_storage_gb=Decimal(100),
    cdn_out_tb=Decimal(1),
    internet_out_tb=Decimal("0.1"),
    requests=10_000_000,
    nat_processed_gb=Decimal(50),
    log_ingest_gb=Decimal(2),
)


@pytest.mark.parametrize("stack", ["ShoppingMall", "SingleServer", "SecurityBaseline"])
def test_the_estimate_inventories_every_resource_of_the_synthesized_stack(
    production: Synth, stack: str
) -> None:
    loaded = load_template(production.outdir, stack)
    inventory = template_inventory(loaded, USAGE)
    result = estimate(
        inventory.usage,
        load_price_book(),
        region="ap-northeast-2",
        title=loaded.name,
        strict=False,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )
    in_template = Counter(r["Type"] for r in production.templates[stack]["Resources"].values())
    assert Counter(finding.resource_type for finding in result.resources) == in_template
    assert result.total > 0
    if stack == "ShoppingMall":
        priced = {f.resource_type for f in result.resources if f.status == "priced"}
        assert {
            "AWS::AutoScaling::AutoScalingGroup",
            "AWS::RDS::DBInstance",
            "AWS::ElastiCache::ReplicationGroup",
            "AWS::EC2::NatGateway",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::WAFv2::WebACL",
            "AWS::CloudFront::Distribution",
        } <= priced
        assert {"NAT gateway", "Load balancing", "WAF", "Data transfer"} <= set(
            result.by_category()
        )
