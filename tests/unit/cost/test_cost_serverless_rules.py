"""Pricing the serverless shape: HTTP API requests, the functions behind it at their memory and
architecture, and RDS Proxy by the vCPUs of the instances behind it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from cloudmall.cost.estimate import estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.template import Assumptions, LoadedTemplate, template_inventory


def function(memory: int, arm: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"MemorySize": memory, "Runtime": "python3.12"}
    if arm:
        props["Architectures"] = ["arm64"]
    return {"Type": "AWS::Lambda::Function", "Properties": props}


def integration(target: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {"IntegrationUri": {"Fn::GetAtt": [target, "Arn"]}},
    }


TEMPLATE = {
    "Resources": {
        "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
        "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {}},
        "Reads": function(512, arm=True),
        "Orders": function(1024, arm=True),
        "Nightly": function(128),
        "ReadsIntegration": integration("Reads"),
        "OrdersIntegration": integration("Orders"),
        "Db": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {"DBInstanceClass": "db.r5.2xlarge", "Engine": "mysql"},
        },
        "Proxy": {"Type": "AWS::RDS::DBProxy", "Properties": {"EngineFamily": "MYSQL"}},
        "Targets": {
            "Type": "AWS::RDS::DBProxyTargetGroup",
            "Properties": {
                "DBProxyName": {"Ref": "Proxy"},
                "DBInstanceIdentifiers": [{"Ref": "Db"}],
            },
        },
    }
}

USAGE = Assumptions(api_requests=3_000_000, lambda_requests=10, lambda_duration_ms=Decimal(50))


def lines_of(logical_id: str) -> dict[str, Decimal]:
    inventory = template_inventory(LoadedTemplate("t", Path("t.json"), TEMPLATE), USAGE)
    return {
        f"{line.service}/{line.sku}": line.quantity
        for line in inventory.usage
        if line.logical_id == logical_id
    }


def test_the_functions_behind_the_api_share_its_requests_at_their_memory() -> None:
    reads, orders = lines_of("Reads"), lines_of("Orders")
    assert reads["lambda/requests"] == orders["lambda/requests"] == 1_500_000
    # 1.5M × 0.05 s × 0.5 GB and × 1 GB, at the Arm price
    assert reads["lambda/gb-second/arm64"] == Decimal(37_500)
    assert orders["lambda/gb-second/arm64"] == Decimal(75_000)
    nightly = lines_of("Nightly")  # not behind the API: the per-function assumption, x86
    assert nightly["lambda/requests"] == 10 and "lambda/gb-second" in nightly


def test_http_api_requests_and_the_proxys_vcpus() -> None:
    assert lines_of("Api") == {"apigateway/http-api/requests": 3_000_000}
    # db.r5.2xlarge: 8 vCPUs, every hour of the month
    assert lines_of("Proxy") == {"rds-proxy/vcpu-hour": USAGE.hours_per_month * 8}


def test_the_month_prices_every_line() -> None:
    inventory = template_inventory(LoadedTemplate("t", Path("t.json"), TEMPLATE), USAGE)
    assert inventory.unpriced == []
    serverless = [line for line in inventory.usage if line.logical_id != "Db"]
    month = estimate(serverless, load_price_book(), region="ap-northeast-2", title="t")
    by_sku = {line.usage.sku: line.cost for line in month.lines}
    assert by_sku["http-api/requests"] == Decimal("3.87")  # 3 × $1.29 in Seoul
    assert by_sku["vcpu-hour"] == USAGE.hours_per_month * 8 * Decimal("0.018")


def test_a_snapstart_function_behind_an_alias_pays_its_cache_and_restores() -> None:
    snapped = function(1024, arm=True)
    snapped["Properties"]["SnapStart"] = {"ApplyOn": "PublishedVersions"}
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
            "Orders": snapped,
            "OrdersVersion": {
                "Type": "AWS::Lambda::Version",
                "Properties": {"FunctionName": {"Ref": "Orders"}},
            },
            "OrdersLive": {
                "Type": "AWS::Lambda::Alias",
                "Properties": {"FunctionName": {"Ref": "Orders"}, "Name": "live"},
            },
            "OrdersIntegration": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {"IntegrationUri": {"Ref": "OrdersLive"}},
            },
        }
    }
    usage = Assumptions(api_requests=3_000_000, snapstart_restores=20_000)
    inventory = template_inventory(LoadedTemplate("t", Path("t.json"), template), usage)
    assert inventory.unpriced == []
    lines = {
        f"{line.service}/{line.sku}": line.quantity
        for line in inventory.usage
        if line.logical_id == "Orders"
    }
    assert lines["lambda/requests"] == 3_000_000  # the API's share, through the alias
    assert lines["lambda/snapstart-cache"] == usage.hours_per_month * 3600  # 1 GB all month
    assert lines["lambda/snapstart-restore"] == 20_000  # × 1 GB
    month = estimate(inventory.usage, load_price_book(), region="ap-northeast-2", title="t")
    by_sku = {line.usage.sku: line.cost for line in month.lines}
    # 720 h × 3,600 s × 1 GB × $0.0000015046 ≈ $3.90 a month to keep the snapshot
    assert by_sku["snapstart-cache"] == usage.hours_per_month * 3600 * Decimal("0.0000015046")
    assert by_sku["snapstart-restore"] == 20_000 * Decimal("0.0001397998")


def table(billing: str, recovery: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {"BillingMode": billing}
    if recovery:
        props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}


def test_an_on_demand_table_is_priced_by_the_apis_calls_and_its_size() -> None:
    template = {"Resources": {"Shop": table("PAY_PER_REQUEST"), "Old": table("PROVISIONED")}}
    usage = Assumptions(api_requests=3_000_000, db_storage_gb=Decimal(2))
    inventory = template_inventory(LoadedTemplate("t", Path("t.json"), template), usage)
    lines = {f"{line.sku}": line.quantity for line in inventory.usage if line.logical_id == "Shop"}
    # the calls are split across the two tables; 4 read and 2 write units per call by default
    assert lines == {
        "on-demand/read": Decimal(1_500_000 * 4),
        "on-demand/write": Decimal(1_500_000 * 2),
        "storage": Decimal(2),
        "pitr": Decimal(2),
    }
    outcomes = {finding.logical_id: finding.status for finding in inventory.resources}
    assert outcomes["Old"] == "unpriced"  # provisioned capacity is not modelled
    result = estimate(inventory.usage, load_price_book(), region="ap-northeast-2", title="t")
    # 6M × $0.125/M + 3M × $0.625/M + 2 GB × ($0.25 + $0.20)
    assert result.total == Decimal("0.75") + Decimal("1.875") + Decimal("0.90")


def scheduled(rate: str, target: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "ScheduleExpression": rate,
            "Targets": [{"Id": "t", "Arn": {"Fn::GetAtt": [target, "Arn"]}}],
        },
    }


def requests_of(resources: dict[str, Any], logical_id: str) -> Decimal:
    loaded = LoadedTemplate("t", Path("t.json"), {"Resources": resources})
    (line,) = (
        line
        for line in template_inventory(loaded, USAGE).usage
        if line.logical_id == logical_id and line.sku == "requests"
    )
    return line.quantity


def test_a_scheduled_function_is_priced_by_its_rate() -> None:
    """A 720-hour month: every minute is 43,200 runs, every 5 minutes 8,640, hourly 720."""
    for rate, runs in (
        ("rate(1 minute)", 43_200),
        ("rate(5 minutes)", 8_640),
        ("rate(1 hour)", 720),
    ):
        resources = {"Mail": function(256, arm=True), "Schedule": scheduled(rate, "Mail")}
        assert requests_of(resources, "Mail") == runs


def test_a_cron_schedule_falls_back_to_the_assumed_calls() -> None:
    resources = {"Mail": function(256), "Schedule": scheduled("cron(0 3 * * ? *)", "Mail")}
    assert requests_of(resources, "Mail") == USAGE.lambda_requests
