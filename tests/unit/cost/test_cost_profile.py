"""Usage profiles: YAML and TOML, shipped profiles, clear errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cloudmall.cost.errors import ProfileError
from cloudmall.cost.estimate import estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.profile import (
    SHIPPED_PROFILES,
    load_profile,
    load_shipped_profile,
    profile_usage,
)


@pytest.mark.parametrize("name", SHIPPED_PROFILES)
def test_shipped_profiles_price_completely(name: str) -> None:
    profile = load_shipped_profile(name)
    result = estimate(profile_usage(profile), load_price_book(), region=profile.region, title=name)
    assert result.total > 0
    assert not result.unpriced


def test_seoul_profile_has_what_the_guide_table_leaves_out() -> None:
    profile = load_shipped_profile("shopping-mall-seoul.yaml")
    categories = {line.category for line in profile_usage(profile)}
    assert {"NAT gateway", "Load balancing", "WAF", "Data transfer"} <= categories


def test_toml_profile_equals_yaml(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        """
name = "t"
region = "us-east-1"
[[compute]]
instance_type = "t3.medium"
count = 3
[cdn]
data_out_tb = 1
""",
        encoding="utf-8",
    )
    (tmp_path / "p.yaml").write_text(
        "name: t\nregion: us-east-1\ncompute: [{instance_type: t3.medium, count: 3}]\n"
        "cdn: {data_out_tb: 1}\n",
        encoding="utf-8",
    )
    assert load_profile(tmp_path / "p.toml") == load_profile(tmp_path / "p.yaml")
    lines = profile_usage(load_profile(tmp_path / "p.toml"))
    assert [line.quantity for line in lines] == [Decimal(2160), Decimal(1000)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\ncompute: [{instance_type: t3.micro, count: -1}]\n", r"compute\.0\.count"),
        ("name: x\ncomputer: []\n", r"computer: Extra inputs are not permitted"),
        ("compute: []\n", r"name: Field required"),
        ("- just\n- a list\n", r"expected a mapping"),
        ("name: [unclosed\n", r"cannot parse profile"),
        ("name: x\nhours_per_month: 800\n", r"hours_per_month"),
    ],
)
def test_malformed_profile_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message) as caught:
        load_profile(path)
    assert "\n" not in str(caught.value)


def test_profile_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="profile not found"):
        load_profile(tmp_path / "nope.yaml")
    with pytest.raises(ProfileError, match=r"expected a \.yaml"):
        load_profile(tmp_path / "profile.ini")
    with pytest.raises(ProfileError, match="no shipped profile"):
        load_shipped_profile("nope.yaml")
