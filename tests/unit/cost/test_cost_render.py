"""Renderers: JSON adds up, Markdown and the table show the figures, the chart is a real PNG."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from cloudmall.cost.errors import CostError
from cloudmall.cost.estimate import Estimate, estimate
from cloudmall.cost.pricebook import load_price_book
from cloudmall.cost.profile import load_shipped_profile, profile_usage
from cloudmall.cost.render import money, print_table, to_data, to_markdown, write_chart


@pytest.fixture(scope="module")
def guide() -> Estimate:
    profile = load_shipped_profile()
    return estimate(
        profile_usage(profile), load_price_book(), region="us-east-1", title=profile.name
    )


def test_money_rounds_half_up_to_cents() -> None:
    assert money(Decimal("89.856")) == "$89.86"
    assert money(Decimal("3.125")) == "$3.13"
    assert money(Decimal("1200")) == "$1,200.00"


def test_json_lines_add_up_to_the_total(guide: Estimate) -> None:
    data = json.loads(json.dumps(to_data(guide)))
    total = Decimal(data["total_monthly"])
    assert total == Decimal("238.356")
    assert sum(Decimal(line["monthly"]) for line in data["lines"]) == total
    assert sum(Decimal(v) for v in data["by_category"].values()) == total
    assert Decimal(data["total_yearly"]) == total * 12
    first = data["lines"][0]
    assert first["unit_price"] == "0.0416"
    assert first["price_source"].startswith("AWS public price list")


def test_markdown_has_every_line_and_the_total(guide: Estimate) -> None:
    text = to_markdown(guide)
    for figure in ("$89.86", "$48.96", "$12.24", "$2.30", "$85.00", "**$238.36**"):
        assert figure in text
    assert "| Item | Quantity | Unit price |" not in text  # Markdown keeps the Group column
    assert "| Item | Group | Quantity | Unit price | Purchase | Monthly |" in text


def test_table_prints_the_total(guide: Estimate) -> None:
    buffer = StringIO()
    print_table(guide, Console(file=buffer, width=160, color_system=None))
    output = buffer.getvalue()
    assert "$238.36" in output
    assert "$89.86" in output


def test_chart_is_a_real_png(guide: Estimate, tmp_path: Path) -> None:
    path = tmp_path / "bill.png"
    write_chart(guide, path)
    assert path.stat().st_size > 10_000
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (900, 600)


def test_empty_estimate_has_no_chart(tmp_path: Path) -> None:
    empty = estimate([], load_price_book(), region="us-east-1", title="empty")
    with pytest.raises(CostError, match="nothing to chart"):
        write_chart(empty, tmp_path / "x.png")
