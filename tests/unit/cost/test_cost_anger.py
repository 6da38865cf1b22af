"""Cost rules the project's own templates need: free resources, Extended Support, sizes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.cost.estimate import Estimate, estimate, plain_number
from cloudmall.cost.extended_support import extended_support, vcpus
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.template import (
    Assumptions,
    LoadedTemplate,
    TemplateInventory,
    template_inventory,
)


def _inventory(resources: dict[str, object], **assumptions: object) -> TemplateInventory:
    loaded = LoadedTemplate("t", Path("t.json"), {"Resources": resources})
    return template_inventory(loaded, Assumptions(**assumptions))  # type: ignore[arg-type]


def _priced(inventory: TemplateInventory) -> Estimate:
    return estimate(
        inventory.usage,
        load_price_book(),
        region="ap-northeast-2",
        title="t",
        strict=True,
        unpriced=inventory.unpriced,
        resources=inventory.resources,
    )


def _mysql(version: str, multi_az: bool = True) -> dict[str, object]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "Engine": "mysql",
            "EngineVersion": version,
            "DBInstanceClass": "db.t3.small",
            "MultiAZ": multi_az,
        },
    }


@pytest.mark.parametrize(
    "rtype",
    [
        "AWS::Lambda::LayerVersion",
        "AWS::EC2::EIPAssociation",
        "AWS::EC2::VolumeAttachment",
        "AWS::Backup::BackupPlan",
        "AWS::Route53::RecordSet",
        "AWS::Events::Rule",
    ],
)
def test_resources_without_a_standing_charge_have_a_zero_rule(rtype: str) -> None:
    inventory = _inventory({"R": {"Type": rtype, "Properties": {}}})
    (finding,) = inventory.resources
    assert finding.status == "free"
    assert inventory.unpriced == []


def test_a_log_metric_filter_is_priced_as_a_custom_metric() -> None:
    inventory = _inventory({"F": {"Type": "AWS::Logs::MetricFilter", "Properties": {}}})
    result = _priced(inventory)
    (line,) = [line for line in result.lines if line.usage.logical_id == "F"]
    assert line.usage.sku == "metric/custom"
    assert line.cost == Decimal("0.30")


def test_extended_support_applies_from_the_day_standard_support_ends() -> None:
    assert (
        extended_support("mysql", "8.0.42", "db.t3.small", instances=2, on=date(2026, 7, 31))
        is None
    )
    late = extended_support("mysql", "8.0.42", "db.t3.small", instances=2, on=date(2026, 8, 1))
    assert late is not None and (late.major, late.vcpus) == ("8.0", 4)  # Multi-AZ: two instances
    assert extended_support("mysql", "8.4", "db.t3.small", instances=1, on=date(2030, 1, 1)) is None
    assert extended_support("mysql", None, "db.t3.small", instances=1, on=date(2030, 1, 1)) is None
    assert (vcpus("db.t3.small"), vcpus("db.r6g.xlarge"), vcpus("db.m5.4xlarge")) == (2, 4, 16)


def test_mysql_80_after_july_2026_pays_extended_support_84_does_not() -> None:
    def rds_cost(version: str) -> dict[str, Decimal]:
        inventory = _inventory({"Db": _mysql(version)}, on=date(2026, 12, 1))
        result = _priced(inventory)
        return {
            line.usage.service: line.cost for line in result.lines if line.usage.category == "RDS"
        }

    old = rds_cost("8.0.42")
    # 720 h × 4 vCPU (2 per db.t3.small, Multi-AZ) × $0.112 in Seoul
    assert old["rds.extended-support"] == 720 * 4 * Decimal("0.112")
    assert "rds.extended-support" not in rds_cost("8.4")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal(100) / 3, "33.33"),
        (Decimal("1234567.891"), "1,234,567.89"),
        (Decimal(720), "720"),
        (Decimal("0.5"), "0.5"),
        (Decimal("0.0000166667"), "0.00001667"),
        (3, "3"),
    ],
)
def test_sizes_are_printed_sanely(value: Decimal | int, shown: str) -> None:
    assert plain_number(value) == shown


def test_an_s3_share_is_not_printed_to_28_digits() -> None:
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {}}
    inventory = _inventory({"A": bucket, "B": bucket, "C": bucket}, s3_storage_gb=Decimal(100))
    components = [line.component for line in inventory.usage if line.service == "s3"]
    assert components == ["S3 Standard 33.33 GB stored (A)", "S3 Standard 33.33 GB stored (B)",
                          "S3 Standard 33.33 GB stored (C)"]  # fmt: skip


def test_an_instance_that_terminates_itself_is_priced_as_a_one_off_run() -> None:
    def instance(**extra: object) -> dict[str, object]:
        return {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "t3.small", **extra}}

    inventory = _inventory(
        {"Server": instance(), "Migrator": instance(InstanceInitiatedShutdownBehavior="terminate")}
    )
    hours = {line.logical_id: line.quantity for line in inventory.usage if line.service == "ec2"}
    assert hours == {"Server": Decimal(720), "Migrator": Decimal(1)}
