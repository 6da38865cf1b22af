"""`cloudmall cost` end to end through the main CLI (Typer's CliRunner)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cloudmall.cli.main import app

FIXTURE = Path(__file__).parents[2] / "unit" / "cost" / "fixtures" / "ShoppingMall.template.json"

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["cost", *args])
    return result.exit_code, result.stdout, result.stderr


def test_guide_profile_json(tmp_path: Path) -> None:
    code, out, _ = invoke("profile", "--guide", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["region"] == "us-east-1"
    assert Decimal(data["total_monthly"]) == Decimal("238.356")
    assert sum(Decimal(line["monthly"]) for line in data["lines"]) == Decimal("238.356")


def test_guide_profile_table_and_chart(tmp_path: Path) -> None:
    chart = tmp_path / "bill.png"
    code, out, err = invoke("profile", "--guide", "--chart", str(chart))
    assert code == 0
    assert "$89.86" in out and "$238.36" in out
    assert "chart written" in err
    with Image.open(chart) as image:
        assert image.format == "PNG"


def test_reserved_purchase_markdown() -> None:
    code, out, _ = invoke("profile", "--guide", "--purchase", "reserved-1y", "-f", "markdown")
    assert code == 0
    assert "reserved-1y (-40%)" in out
    assert "$53.91" in out  # $89.856 × 0.6


def test_flags_build_a_profile() -> None:
    code, out, _ = invoke(
        "profile",
        "--ec2", "t3.medium:3",
        "--rds", "db.t3.small",
        "--multi-az",
        "--cache", "cache.t3.micro",
        "--cdn-tb", "1",
        "--region", "us-east-1",
        "-f", "json",
    )  # fmt: skip
    assert code == 0
    costs = {line["category"]: Decimal(line["monthly"]) for line in json.loads(out)["lines"]}
    assert costs == {
        "EC2": Decimal("89.856"),
        "RDS": Decimal("48.96"),
        "ElastiCache": Decimal("12.24"),
        "CloudFront": Decimal("85"),
    }


def test_lambda_guide_example() -> None:
    code, out, _ = invoke("lambda", "-f", "json")
    assert code == 0
    lines = json.loads(out)["lines"]
    assert Decimal(lines[0]["monthly"]) == Decimal("0.6")
    assert Decimal(lines[1]["monthly"]).quantize(Decimal("0.01")) == Decimal("3.13")


def test_savings_guide_example() -> None:
    code, out, _ = invoke("savings", "--monthly", "100")
    assert code == 0
    assert out.strip() == "on-demand $1,200.00/year; reserved-1y $720.00/year; saves $480.00"


def test_template_from_cdk_out(tmp_path: Path) -> None:
    out_dir = tmp_path / "cdk.out"
    out_dir.mkdir()
    shutil.copy(FIXTURE, out_dir / "ShoppingMall.template.json")
    code, out, _ = invoke(
        "template", str(out_dir), "--cdn-tb", "1", "--s3-gb", "100", "--requests", "1000000",
        "--nat-gb", "20", "-f", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    template = json.loads(FIXTURE.read_text("utf-8"))
    counts: dict[str, int] = {}
    for resource in template["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    assert data["resource_counts"] == counts
    assert sum(Decimal(line["monthly"]) for line in data["lines"]) == Decimal(data["total_monthly"])
    assert [u["logical_id"] for u in data["unpriced"]] == ["ShopZone4B2C9A1E"]


def test_template_table_lists_unpriced_and_free() -> None:
    code, out, _ = invoke("template", str(FIXTURE))
    assert code == 0
    assert "Found but not priced" in out
    assert "Template resources: 72" in out


def test_prices_listing() -> None:
    code, out, _ = invoke("prices", "--region", "us-east-1", "--service", "ec2")
    assert code == 0
    assert "0.0416" in out


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "--ec2", "t3.mega:2"], "unknown instance type 't3.mega'"),
        (["profile", "--guide", "--region", "eu-west-9"], "unknown region 'eu-west-9'"),
        (["template", "missing/cdk.out"], "template not found: missing/cdk.out"),
        (["template", "{fixture}", "--region", "mars-1"], "unknown region 'mars-1'"),
        (["template", "{fixture}", "--strict"], "ShopZone4B2C9A1E: no price in the book"),
        (["profile", "{bad_profile}"], "invalid profile"),
        (["profile", "nope.yaml"], "profile not found: nope.yaml"),
        (
            ["profile", "--guide", "--prices", "{partial_prices}"],
            "no price for ec2 't3.medium' in us-east-1",
        ),
        (["profile", "--guide", "--prices", "{bad_prices}"], "invalid price book"),
        (["profile"], "nothing to estimate"),
        (["profile", "--guide", "--ec2", "t3..medium:x"], "expected TYPE or TYPE:COUNT"),
        (["lambda", "--region", "eu-west-9"], "unknown region 'eu-west-9'"),
        (["profile", "--guide", "--chart", "{tmp}/no/such/dir/x.png"], "cannot write chart"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path: Path, args: list[str], message: str) -> None:
    builtin = json.loads(
        (Path(__file__).parents[3] / "src/cloudmall/cost/data/prices.json").read_text("utf-8")
    )
    entries = builtin["entries"]
    no_virginia_t3_medium = [
        e for e in entries if (e["region"], e["sku"]) != ("us-east-1", "t3.medium")
    ]
    names = {
        "fixture": str(FIXTURE),
        "tmp": str(tmp_path),
        "bad_profile": _write(tmp_path, "bad.yaml", "name: x\ncompute: [{count: 3}]\n"),
        "partial_prices": _write(
            tmp_path, "p.json", json.dumps(dict(builtin, entries=no_virginia_t3_medium))
        ),
        "bad_prices": _write(tmp_path, "bad.json", json.dumps(dict(builtin, currency="KRW"))),
    }
    code, out, err = invoke(*[arg.format(**names) for arg in args])
    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1  # one line
    assert "Traceback" not in err
