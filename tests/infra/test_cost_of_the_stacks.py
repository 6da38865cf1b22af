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


@pytest.mark.parametrize("stack", ["ShoppingMall", "SingleServer"])
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


def test_the_lake_is_priced_by_scans_catalogue_and_storage(production: Synth) -> None:
    loaded = load_template(production.outdir, "ShoppingMall")
    usage = Assumptions(
        s3_storage_gb=Decimal(500),  # five buckets: 100 GB each
        athena_scanned_gb=Decimal(2000),  # 2 TB at $5 per TB
        glue_catalog_requests=3_000_000,
    )
    inventory = template_inventory(loaded, usage)
    result = estimate(
        inventory.usage,
        load_price_book(),
        region="ap-northeast-2",
        title=loaded.name,
        strict=False,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )
    by_component = {line.usage.component: line.cost for line in result.lines}
    (athena,) = [cost for name, cost in by_component.items() if name.startswith("Athena")]
    assert athena == Decimal("10.00")
    requests = [cost for name, cost in by_component.items() if "catalog 3,000,000 requests" in name]
    assert requests == [Decimal("3.00")]
    objects = [name for name in by_component if name.startswith("Glue catalog object")]
    assert len(objects) == 3  # the database and its two tables
    lake_bucket = [name for name in by_component if "(LakeBucket" in name]
    assert len(lake_bucket) == 1 and "100 GB" in lake_bucket[0]
    assert result.by_category()["Analytics"] >= Decimal("13.00")
