"""The price book: shipped data is complete and sourced; user files are validated clearly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.cost.errors import (
    MissingPriceError,
    PriceBookError,
    UnknownInstanceTypeError,
    UnknownRegionError,
)
from cloudmall.cost.pricebook import load_price_book

REGIONS = ("ap-northeast-2", "us-east-1")

# Every price the issue asks for, in both regions.
REQUIRED = [
    ("ec2", "t3.micro"),
    ("ec2", "t3.small"),
    ("ec2", "t3.medium"),
    ("rds.mysql", "db.t3.small/single-az"),
    ("rds.mysql", "db.t3.small/multi-az"),
    ("rds.mysql", "db.t3.medium/single-az"),
    ("rds.mysql", "db.t3.medium/multi-az"),
    ("elasticache.redis", "cache.t3.micro"),
    ("elasticache.redis", "cache.t3.small"),
    ("ebs", "gp3"),
    ("s3", "standard"),
    ("s3", "standard-ia"),
    ("s3", "glacier-flexible"),
    ("s3", "standard/put"),
    ("s3", "standard/get"),
    ("s3", "standard-ia/put"),
    ("s3", "standard-ia/get"),
    ("s3", "glacier-flexible/put"),
    ("s3", "glacier-flexible/get"),
    ("cloudfront", "data-out"),
    ("data-transfer", "internet-out"),
    ("elb", "alb/hour"),
    ("elb", "alb/lcu-hour"),
    ("nat-gateway", "hour"),
    ("nat-gateway", "data-processed"),
    ("waf", "web-acl"),
    ("waf", "rule"),
    ("waf", "requests"),
    ("public-ipv4", "address"),
    ("secretsmanager", "secret"),
    ("cloudwatch", "alarm/standard"),
    ("cloudwatch", "dashboard"),
    ("lambda", "requests"),
    ("lambda", "gb-second"),
]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("service", "sku"), REQUIRED)
def test_builtin_book_prices_every_required_item(region: str, service: str, sku: str) -> None:
    entry = load_price_book().price(region, service, sku)
    assert entry.price >= 0
    assert entry.source.startswith("AWS public price list")
    assert "https://aws.amazon.com/" in entry.source
    assert entry.as_of.year >= 2024


def test_builtin_book_says_it_was_written_offline() -> None:
    book = load_price_book()
    assert "AWS public price list" in book.source_note
    assert "without network access" in book.source_note


@pytest.mark.parametrize(
    ("service", "sku", "price", "per"),
    [
        ("ec2", "t3.medium", "0.0416", 1),
        ("rds.mysql", "db.t3.small/multi-az", "0.068", 1),
        ("elasticache.redis", "cache.t3.micro", "0.017", 1),
        ("cloudfront", "data-out", "0.085", 1),
        ("lambda", "requests", "0.20", 1_000_000),
        ("lambda", "gb-second", "0.0000166667", 1),
    ],
)
def test_guide_unit_prices_are_us_east_1_list_prices(
    service: str, sku: str, price: str, per: int
) -> None:
    entry = load_price_book().price("us-east-1", service, sku)
    assert entry.price == Decimal(price)
    assert entry.per == per


def test_seoul_prices_differ_from_the_guides_virginia_figures() -> None:
    book = load_price_book()
    for service, sku in [("ec2", "t3.medium"), ("rds.mysql", "db.t3.small/multi-az")]:
        seoul = book.price("ap-northeast-2", service, sku).price
        virginia = book.price("us-east-1", service, sku).price
        assert seoul > virginia


def test_purchase_options_carry_the_guides_discounts() -> None:
    book = load_price_book()
    reserved = book.purchase_option("reserved-1y")
    spot = book.purchase_option("spot")
    assert reserved is not None and reserved.discount == Decimal("0.40")
    assert spot is not None and spot.discount == Decimal("0.90")
    assert "ec2" in reserved.applies_to and "rds.mysql" in reserved.applies_to
    assert spot.applies_to == frozenset({"ec2"})
    assert book.purchase_option("on-demand") is None


def test_unknown_region_names_the_known_ones() -> None:
    with pytest.raises(UnknownRegionError, match=r"'eu-west-9'.*ap-northeast-2, us-east-1"):
        load_price_book().price("eu-west-9", "ec2", "t3.medium")


def test_unknown_instance_type_lists_the_known_ones() -> None:
    with pytest.raises(UnknownInstanceTypeError, match=r"'t3\.mega' for ec2.*t3\.medium"):
        load_price_book().price("us-east-1", "ec2", "t3.mega")


def test_missing_price_says_what_and_where(tmp_path: Path) -> None:
    # a book that prices db.r6g.large in Virginia only
    raw = _builtin_raw()
    entries = raw["entries"]
    assert isinstance(entries, list)
    raw["entries"] = [
        e for e in entries if not (e["region"] == "ap-northeast-2" and e["sku"] == "db.r6g.large")
    ]
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(MissingPriceError, match=r"rds\.aurora-mysql 'db\.r6g\.large' in ap-no"):
        load_price_book(path).price("ap-northeast-2", "rds.aurora-mysql", "db.r6g.large")


def test_service_without_prices_is_named() -> None:
    with pytest.raises(MissingPriceError, match=r"has no opensearch prices"):
        load_price_book().price("us-east-1", "opensearch", "t3.small.search")


def _builtin_raw() -> dict[str, object]:
    from importlib import resources

    text = resources.files("cloudmall.cost.data").joinpath("prices.json").read_text("utf-8")
    raw: dict[str, object] = json.loads(text)
    return raw


def test_user_price_file_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        """
schema_version = 1
name = "my prices"
currency = "USD"
as_of = 2025-01-01
source_note = "negotiated"
regions = { "us-east-1" = "Virginia" }

[[entries]]
region = "us-east-1"
service = "ec2"
sku = "t3.medium"
unit = "hour"
price = 0.03
source = "contract 42"
as_of = 2025-01-01
""",
        encoding="utf-8",
    )
    book = load_price_book(path)
    assert book.price("us-east-1", "ec2", "t3.medium").price == Decimal("0.03")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["entries"][0].pop("source"), r"entries\.0\.source: Field required"),
        (lambda raw: raw["entries"][0].update(price="-1"), r"entries\.0\.price"),
        (lambda raw: raw["entries"][0].update(region="mars-1"), r"'mars-1'.*not listed"),
        (lambda raw: raw["entries"].append(dict(raw["entries"][0])), r"repeats the price"),
        (lambda raw: raw.update(currency="KRW"), r"currency"),
    ],
)
def test_invalid_price_file_gives_one_line(tmp_path: Path, mutate: object, message: str) -> None:
    raw = _builtin_raw()
    mutate(raw)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(PriceBookError, match=message) as caught:
        load_price_book(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_unparseable_and_missing_price_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PriceBookError, match="cannot parse price book"):
        load_price_book(bad)
    with pytest.raises(PriceBookError, match="price book not found"):
        load_price_book(tmp_path / "nope.json")
