"""Template → inventory: every resource accounted for, references resolved, CDK shapes read."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.cost.errors import TemplateError
from cloudmall.cost.estimate import Estimate, estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.template import (
    Assumptions,
    LoadedTemplate,
    load_template,
    template_inventory,
)

FIXTURES = Path(__file__).parent / "fixtures"
SHOPPING_MALL = FIXTURES / "ShoppingMall.template.json"

USAGE = Assumptions(
    s3_storage_gb=Decimal(100),
    cdn_out_tb=Decimal(1),
    internet_out_tb=Decimal("0.1"),
    requests=10_000_000,
    nat_processed_gb=Decimal(50),
    log_ingest_gb=Decimal(2),
)


def _estimate(loaded: LoadedTemplate, region: str = "ap-northeast-2") -> Estimate:
    inventory = template_inventory(loaded, USAGE)
    return estimate(
        inventory.usage,
        load_price_book(),
        region=region,
        title=loaded.name,
        strict=False,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )


@pytest.fixture(scope="module")
def mall() -> Estimate:
    return _estimate(load_template(SHOPPING_MALL))


def _costs(result: Estimate, logical_id: str) -> dict[str, Decimal]:
    return {
        f"{line.usage.service}:{line.usage.sku}": line.cost
        for line in result.lines
        if line.usage.logical_id == logical_id
    }


def test_inventory_matches_the_template_type_by_type(mall: Estimate) -> None:
    template = json.loads(SHOPPING_MALL.read_text("utf-8"))
    in_template = Counter(resource["Type"] for resource in template["Resources"].values())
    reported = Counter(finding.resource_type for finding in mall.resources)
    assert reported == in_template
    assert len(mall.resources) == len(template["Resources"]) == 72
    assert {f.logical_id for f in mall.resources} == set(template["Resources"])


def test_every_billable_resource_is_priced_including_what_the_guide_leaves_out(
    mall: Estimate,
) -> None:
    priced_types = {f.resource_type for f in mall.resources if f.status == "priced"}
    assert priced_types >= {
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::EC2::Instance",
        "AWS::RDS::DBInstance",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::EC2::NatGateway",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::WAFv2::WebACL",
        "AWS::CloudFront::Distribution",
        "AWS::S3::Bucket",
        "AWS::EC2::EIP",
        "AWS::SecretsManager::Secret",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Logs::LogGroup",
    }
    categories = set(mall.by_category())
    assert {"NAT gateway", "Load balancing", "WAF", "Data transfer"} <= categories
    # Each priced resource has at least one cost line.
    priced_ids = {f.logical_id for f in mall.resources if f.status == "priced"}
    assert priced_ids <= {line.usage.logical_id for line in mall.lines}


def test_free_and_unpriced_are_listed_not_dropped(mall: Estimate) -> None:
    status = {f.logical_id: f.status for f in mall.resources}
    assert status["VpcS3EndpointC2F8E7D4"] == "free"  # gateway endpoint
    assert status["AlarmTopic2A9F1B3C"] == "free"  # SNS topic
    assert status["VpcFlowLogsFlowLogF1E5AE0F"] == "free"  # billed via its log group
    assert status["WebServersLaunchTemplate0C5E1D3F"] == "free"  # priced via the ASG
    assert status["BackupPlan5A6C2E19"] == "free"  # the snapshots it takes are usage
    assert status["ShopZone4B2C9A1E"] == "unpriced"  # no hosted-zone price in the book
    assert [u.logical_id for u in mall.unpriced] == ["ShopZone4B2C9A1E"]


def test_asg_resolves_its_launch_template_like_cdk_writes_it(mall: Estimate) -> None:
    costs = _costs(mall, "WebServersASG1C8D3E2F")
    # DesiredCapacity "3" (a string, as CDK writes it) × t3.medium × 720 h at Seoul's $0.052.
    assert costs["ec2:t3.medium"] == Decimal("112.32")
    # The launch template's 20 GB gp3 root volume, per instance.
    assert costs["ebs:gp3"] == Decimal("60") * Decimal("0.0912")


def test_database_cache_and_network_lines(mall: Estimate) -> None:
    db = _costs(mall, "DatabaseB269D8BB")
    assert db["rds.mysql:db.t3.small/multi-az"] == Decimal("74.88")
    assert db["rds.storage:gp3/multi-az"] == Decimal("5.24")
    assert _costs(mall, "CacheReplicationGroup5A1C6B7E") == {
        "elasticache.redis:cache.t3.micro": Decimal("36.00")  # NumCacheClusters: 2
    }
    nat = _costs(mall, "VpcPublicSubnet1NATGateway4D7517AA")
    assert nat == {
        "nat-gateway:hour": Decimal("42.48"),
        "nat-gateway:data-processed": Decimal("1.475"),  # half of 50 GB
    }
    alb = _costs(mall, "LoadBalancerBE9EEC3A")
    assert alb["elb:alb/hour"] == Decimal("16.2")
    assert alb["elb:alb/lcu-hour"] == Decimal("5.76")
    assert alb["public-ipv4:address"] == Decimal("7.2")  # internet-facing, two subnets
    waf = _costs(mall, "WebAcl7E1C9C0E")
    assert waf == {
        "waf:web-acl": Decimal("5"),
        "waf:rule": Decimal("3"),
        "waf:requests": Decimal("6"),
    }
    assert _costs(mall, "CacheHitRateLowAlarm8D9E0F1A") == {
        "cloudwatch:alarm/standard": Decimal("0.2")  # metric math over two metrics
    }


def test_usage_totals_are_split_across_resources(mall: Estimate) -> None:
    assert _costs(mall, "ImagesBucket3E9F5C1A") == {"s3:standard": Decimal("1.25")}
    assert _costs(mall, "AccessLogsBucket83982689") == {"s3:standard": Decimal("1.25")}
    cdn = _costs(mall, "CdnDistribution4A1F8E2B")
    assert cdn["cloudfront:data-out"] == Decimal("120")  # 1,000 GB at Korea's $0.120
    transfer = [line for line in mall.lines if line.usage.category == "Data transfer"]
    assert [line.cost for line in transfer] == [Decimal("12.6")]  # 100 GB × $0.126


def test_same_stack_in_us_east_1_uses_the_guides_prices() -> None:
    result = _estimate(load_template(SHOPPING_MALL), region="us-east-1")
    assert _costs(result, "WebServersASG1C8D3E2F")["ec2:t3.medium"] == Decimal("89.856")
    assert _costs(result, "DatabaseB269D8BB")["rds.mysql:db.t3.small/multi-az"] == Decimal("48.96")
    assert _costs(result, "CdnDistribution4A1F8E2B")["cloudfront:data-out"] == Decimal("85")


def _cdk_out(tmp_path: Path, *stacks: str) -> Path:
    out = tmp_path / "cdk.out"
    out.mkdir()
    artifacts: dict[str, object] = {"Tree": {"type": "cdk:tree", "properties": {"file": "t.json"}}}
    for name in stacks:
        shutil.copy(SHOPPING_MALL, out / f"{name}.template.json")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json", "stackName": name},
            "displayName": name,
        }
    manifest = {"version": "36.0.0", "artifacts": artifacts}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def test_cdk_out_directory_with_one_stack(tmp_path: Path) -> None:
    loaded = load_template(_cdk_out(tmp_path, "ShoppingMall"))
    assert loaded.name == "ShoppingMall"
    assert len(loaded.body["Resources"]) == 72


def test_cdk_out_with_several_stacks_needs_stack(tmp_path: Path) -> None:
    out = _cdk_out(tmp_path, "ShoppingMall", "ShoppingMallDev")
    with pytest.raises(TemplateError, match=r"several stacks.*--stack"):
        load_template(out)
    assert load_template(out, "ShoppingMallDev").name == "ShoppingMallDev"
    with pytest.raises(TemplateError, match="no stack 'Nope'"):
        load_template(out, "Nope")


def test_cdk_out_nested_stage_assembly(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    stage = out / "assembly-Prod"
    stage.mkdir(parents=True)
    shutil.copy(SHOPPING_MALL, stage / "ProdShoppingMall1A2B3C4D.template.json")
    (stage / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "ProdShoppingMall1A2B3C4D": {
                        "type": "aws:cloudformation:stack",
                        "properties": {
                            "templateFile": "ProdShoppingMall1A2B3C4D.template.json",
                            "stackName": "Prod-ShoppingMall",
                        },
                        "displayName": "Prod/ShoppingMall",
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "assembly-Prod": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Prod", "displayName": "Prod"},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    assert load_template(out, "ShoppingMall").name == "Prod-ShoppingMall"


def test_yaml_template_with_short_form_tags_and_aurora(tmp_path: Path) -> None:
    path = tmp_path / "aurora.yaml"
    path.write_text(
        """
Parameters:
  WebInstanceType:
    Type: String
    Default: t3.small
Resources:
  LaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateName: mall-web
      LaunchTemplateData:
        InstanceType: !Ref WebInstanceType
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: "2"
      MaxSize: "10"
      LaunchTemplate:
        LaunchTemplateName: mall-web
        Version: !GetAtt LaunchTemplate.LatestVersionNumber
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties:
      Engine: aurora-mysql
  Writer:
    Type: AWS::RDS::DBInstance
    Properties:
      DBClusterIdentifier: !Ref Cluster
      DBInstanceClass: db.r6g.large
      Engine: aurora-mysql
  Reader:
    Type: AWS::RDS::DBInstance
    Properties:
      DBClusterIdentifier: !Ref Cluster
      DBInstanceClass: db.r6g.large
  Sharded:
    Type: AWS::ElastiCache::ReplicationGroup
    Properties:
      ReplicationGroupDescription: sharded
      CacheNodeType: cache.t3.small
      NumNodeGroups: 2
      ReplicasPerNodeGroup: 1
  Mystery:
    Type: AWS::Foo::Bar
""",
        encoding="utf-8",
    )
    loaded = load_template(path)
    inventory = template_inventory(loaded, Assumptions(db_storage_gb=Decimal(10)))
    virginia = estimate(
        inventory.usage,
        load_price_book(),
        region="us-east-1",
        title="x",
        strict=False,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )
    costs = {(line.usage.logical_id, line.usage.sku): line.cost for line in virginia.lines}
    assert costs[("Group", "t3.small")] == Decimal("2") * 720 * Decimal("0.0208")  # MinSize
    assert costs[("Writer", "db.r6g.large")] == Decimal("187.2")
    assert costs[("Reader", "db.r6g.large")] == Decimal("187.2")  # engine from its cluster
    assert costs[("Cluster", "standard")] == Decimal("1")  # 10 GB × $0.10
    assert costs[("Sharded", "cache.t3.small")] == Decimal(4 * 720) * Decimal("0.034")
    status = {f.logical_id: f.status for f in virginia.resources}
    assert status["Mystery"] == "unpriced"
    # Aurora is priced in Seoul too: the writer, the reader and the cluster's storage.
    seoul = estimate(
        inventory.usage,
        load_price_book(),
        region="ap-northeast-2",
        title="x",
        strict=False,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )
    status = {f.logical_id: f.status for f in seoul.resources}
    assert status["Writer"] == status["Reader"] == status["Cluster"] == "priced"
    seoul_costs = {(line.usage.logical_id, line.usage.sku): line.cost for line in seoul.lines}
    assert seoul_costs[("Writer", "db.r6g.large")] == 720 * Decimal("0.313")
    assert seoul_costs[("Cluster", "standard")] == Decimal("1.2")  # 10 GB × $0.12
    assert [u.logical_id for u in seoul.unpriced] == ["Mystery"]


def test_template_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="template not found"):
        load_template(tmp_path / "missing.template.json")
    bad = tmp_path / "bad.template.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(TemplateError, match="cannot parse template"):
        load_template(bad)
    bad.write_text('{"AWSTemplateFormatVersion": "2010-09-09"}', encoding="utf-8")
    with pytest.raises(TemplateError, match="no 'Resources' mapping"):
        load_template(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TemplateError, match="no CloudFormation stacks"):
        load_template(empty)
