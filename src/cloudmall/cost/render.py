"""Show an estimate: a rich terminal table, Markdown, JSON, or a PNG pie chart of the bill.

Only here are amounts rounded (to cents, half up). JSON carries exact decimal strings so its
lines add up to its total exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cloudmall.cost.errors import CostError
from cloudmall.cost.estimate import CostLine, Estimate, plain_number

CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    """``$1,234.57``: rounded half up to the cent, for display."""
    return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


_PER = {Decimal(1000): "1K", Decimal(10000): "10K", Decimal(1000000): "1M"}


def unit_price(line: CostLine) -> str:
    """``$0.0416/hour``, ``$0.20/1M request``: the price as the book states it."""
    entry = line.entry
    price = entry.price
    if price == price.quantize(CENT):
        price = price.quantize(CENT)
    per = "" if entry.per == 1 else f"{_PER.get(entry.per, plain_number(entry.per))} "
    return f"${price:f}/{per}{entry.unit}"


def exact(amount: Decimal) -> str:
    """An exact decimal string without exponent or trailing zeros (for JSON)."""
    text = f"{amount.normalize():f}"
    return "0" if text in {"-0", "0"} else text


def _purchase_label(line: CostLine) -> str:
    if line.purchase == "on-demand":
        return "on-demand"
    return f"{line.purchase} (-{plain_number(line.discount * 100)}%)"


def _summary_lines(estimate: Estimate) -> list[str]:
    lines = [f"Monthly total: {money(estimate.total)} (yearly {money(estimate.yearly_total)})"]
    if estimate.purchase != "on-demand":
        saved = estimate.on_demand_total - estimate.total
        lines.append(
            f"On-demand would be {money(estimate.on_demand_total)} a month: "
            f"{estimate.purchase} saves {money(saved)} a month, {money(saved * 12)} a year"
        )
    if estimate.unpriced:
        lines.append(f"Not in the total: {len(estimate.unpriced)} unpriced item(s), listed below")
    return lines


def _inventory_rows(estimate: Estimate) -> list[tuple[str, str, int, str]]:
    """(resource type, status, count, detail of the first) per type and status."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}
    for finding in estimate.resources:
        key = (finding.resource_type, finding.status)
        counts[key] += 1
        first.setdefault(key, finding.detail)
    order = {"priced": 0, "unpriced": 1, "free": 2}
    keys = sorted(counts, key=lambda key: (order[key[1]], key[0]))
    return [
        (rtype, status, counts[(rtype, status)], first[(rtype, status)]) for rtype, status in keys
    ]


def _heading(estimate: Estimate) -> str:
    return (
        f"{estimate.title}: {estimate.region} ({estimate.region_name}), "
        f"{estimate.purchase}, {plain_number(estimate.hours_per_month)} h/month"
    )


def _footer(estimate: Estimate) -> str:
    return (
        f"Prices: {estimate.price_book} (as of {estimate.price_book_as_of}); USD, "
        "list prices without tax, free tiers or credits. 1 TB = 1,000 GB."
    )


def print_table(estimate: Estimate, console: Console) -> None:
    """The estimate as rich tables on ``console``."""
    table = Table(title=_heading(estimate), show_footer=True, title_justify="left")
    table.add_column("Item", footer="Total", ratio=3)
    table.add_column("Quantity", justify="right")
    table.add_column("Unit price", justify="right")
    table.add_column("Purchase")
    table.add_column("Monthly", justify="right", footer=money(estimate.total))
    for line in estimate.lines:
        item = line.usage.component + (f" [dim]({line.note})[/dim]" if line.note else "")
        table.add_row(
            item,
            f"{plain_number(line.usage.quantity)} {line.entry.unit}",
            unit_price(line),
            _purchase_label(line),
            money(line.cost),
        )
    console.print(table)
    by_category = Table(title="By group", title_justify="left")
    by_category.add_column("Group")
    by_category.add_column("Monthly", justify="right")
    by_category.add_column("Share", justify="right")
    for category, amount in estimate.by_category().items():
        share = amount / estimate.total * 100 if estimate.total else Decimal(0)
        by_category.add_row(category, money(amount), f"{share:.1f}%")
    console.print(by_category)
    for text in _summary_lines(estimate):
        console.print(text)
    if estimate.unpriced:
        unpriced = Table(title="Found but not priced (not in the total)", title_justify="left")
        unpriced.add_column("Item")
        unpriced.add_column("Type")
        unpriced.add_column("Why")
        for missing in estimate.unpriced:
            unpriced.add_row(missing.component, missing.resource_type or "", missing.reason)
        console.print(unpriced)
    if estimate.resources:
        inventory = Table(
            title=f"Template resources: {len(estimate.resources)}", title_justify="left"
        )
        inventory.add_column("Type")
        inventory.add_column("Count", justify="right")
        inventory.add_column("Status")
        inventory.add_column("Detail (first of its kind)")
        for rtype, status, count, detail in _inventory_rows(estimate):
            inventory.add_row(rtype, str(count), status, detail)
        console.print(inventory)
    if estimate.assumptions:
        console.print(
            "Assumptions: " + "; ".join(f"{name} = {value}" for name, value in estimate.assumptions)
        )
    for note in estimate.notes:
        console.print(f"Note: {note}")
    console.print(f"[dim]{_footer(estimate)}[/dim]")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return out


def to_markdown(estimate: Estimate) -> str:
    """The estimate as a GitHub-flavoured Markdown document."""
    out = [f"## {_heading(estimate)}", ""]
    rows = [
        [
            line.usage.component + (f" ({line.note})" if line.note else ""),
            line.usage.category,
            f"{plain_number(line.usage.quantity)} {line.entry.unit}",
            unit_price(line),
            _purchase_label(line),
            money(line.cost),
        ]
        for line in estimate.lines
    ]
    rows.append(["**Total**", "", "", "", "", f"**{money(estimate.total)}**"])
    header = ["Item", "Group", "Quantity", "Unit price", "Purchase", "Monthly"]
    out += _md_table(header, rows, {2, 3, 5})
    out += ["", "### By group", ""]
    out += _md_table(
        ["Group", "Monthly"],
        [[category, money(amount)] for category, amount in estimate.by_category().items()],
        {1},
    )
    out += [""] + [f"{text}  " for text in _summary_lines(estimate)]
    if estimate.unpriced:
        out += ["", "### Found but not priced (not in the total)", ""]
        out += _md_table(
            ["Item", "Type", "Why"],
            [[u.component, u.resource_type or "", u.reason] for u in estimate.unpriced],
            set(),
        )
    if estimate.resources:
        out += ["", f"### Template resources: {len(estimate.resources)}", ""]
        out += _md_table(
            ["Type", "Count", "Status", "Detail (first of its kind)"],
            [[t, str(c), s, d] for t, s, c, d in _inventory_rows(estimate)],
            {1},
        )
    if estimate.assumptions:
        out += ["", "### Assumptions", ""]
        out += [f"- {name}: {value}" for name, value in estimate.assumptions]
    if estimate.notes:
        out += [""] + [f"> {note}" for note in estimate.notes]
    out += ["", f"_{_footer(estimate)}_", ""]
    return "\n".join(out)


def to_data(estimate: Estimate) -> dict[str, Any]:
    """The estimate as JSON-ready data; amounts are exact decimal strings."""
    return {
        "title": estimate.title,
        "region": estimate.region,
        "region_name": estimate.region_name,
        "purchase": estimate.purchase,
        "hours_per_month": exact(estimate.hours_per_month),
        "currency": "USD",
        "price_book": {"name": estimate.price_book, "as_of": estimate.price_book_as_of},
        "lines": [
            {
                "component": line.usage.component,
                "category": line.usage.category,
                "service": line.usage.service,
                "sku": line.usage.sku,
                "quantity": exact(line.usage.quantity),
                "unit": line.entry.unit,
                "unit_price": exact(line.entry.price),
                "per": exact(line.entry.per),
                "purchase": line.purchase,
                "discount": exact(line.discount),
                "on_demand_monthly": exact(line.on_demand),
                "monthly": exact(line.cost),
                "logical_id": line.usage.logical_id,
                "resource_type": line.usage.resource_type,
                "price_source": line.entry.source,
                "price_as_of": line.entry.as_of.isoformat(),
                "note": line.note or line.usage.note,
            }
            for line in estimate.lines
        ],
        "by_category": {k: exact(v) for k, v in estimate.by_category().items()},
        "total_monthly": exact(estimate.total),
        "total_on_demand_monthly": exact(estimate.on_demand_total),
        "total_yearly": exact(estimate.yearly_total),
        "unpriced": [
            {
                "component": u.component,
                "reason": u.reason,
                "logical_id": u.logical_id,
                "resource_type": u.resource_type,
            }
            for u in estimate.unpriced
        ],
        "resources": [
            {
                "logical_id": r.logical_id,
                "type": r.resource_type,
                "status": r.status,
                "detail": r.detail,
            }
            for r in estimate.resources
        ],
        "resource_counts": dict(Counter(r.resource_type for r in estimate.resources)),
        "assumptions": dict(estimate.assumptions),
        "notes": list(estimate.notes),
    }


def to_json(estimate: Estimate) -> str:
    return json.dumps(to_data(estimate), indent=2, ensure_ascii=False)


def write_chart(estimate: Estimate, path: Path) -> None:
    """A PNG pie of the monthly bill by group, like the guide's pie chart."""
    slices = {k: v for k, v in estimate.by_category().items() if v > 0}
    if not slices:
        raise CostError("nothing to chart: the estimate's total is $0")
    # Imported here: matplotlib is slow to import and only charts need it. The Agg canvas is
    # used directly (no pyplot, no global backend state, no display needed).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [f"{name}\n{money(amount)}" for name, amount in slices.items()]
    axes.pie(
        [float(amount) for amount in slices.values()],
        labels=labels,
        autopct="%1.0f%%",
        startangle=90,
        counterclock=False,
        wedgeprops={"linewidth": 1, "edgecolor": "white"},
        textprops={"fontsize": 9},
    )
    axes.set_aspect("equal")
    axes.set_title(
        f"{estimate.title}: {money(estimate.total)}/month\n"
        f"{estimate.region}, {estimate.purchase}, {plain_number(estimate.hours_per_month)} h",
        fontsize=11,
    )
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise CostError(f"cannot write chart {path}: {exc.strerror or exc}") from exc
