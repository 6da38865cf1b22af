"""The lake's report as a rich table, Markdown, JSON or PNG charts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cloudmall.services.lake import LakeReport
from cloudmall.services.ports import QueryResult

#: The report's sections in reading order, with their titles.
TITLES = {
    "headline": "Headline",
    "daily": "Orders and revenue per day (by the day an order was placed)",
    "statuses": "Orders by status now",
    "top_by_units": "Top products by units sold",
    "top_by_revenue": "Top products by revenue",
    "payments": "Payments",
    "stock_movements": "Stock movements",
}


def cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2%}" if value <= 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _plain(value: object) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def result_table(result: QueryResult, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*(cell(value) for value in row))
    return table


def print_tables(report: LakeReport, console: Console) -> None:
    span = report.span
    console.print(f"[bold]cloudmall lake report[/] {span.first_day} … {span.last_day}")
    for name, title in TITLES.items():
        console.print(result_table(report.sections[name], title))


def to_markdown(report: LakeReport) -> str:
    span = report.span
    parts = [f"# cloudmall lake report, {span.first_day} … {span.last_day}"]
    for name, title in TITLES.items():
        result = report.sections[name]
        parts.append(f"## {title}")
        parts.append("| " + " | ".join(result.columns) + " |")
        parts.append("|" + "---|" * len(result.columns))
        parts.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in result.rows)
    return "\n\n".join([*parts[:1], "\n".join(parts[1:])]) + "\n"


def to_data(report: LakeReport) -> dict[str, Any]:
    """Decimals as strings (exact), rates as floats, days as ISO dates."""
    return {
        "from": report.span.first_day.isoformat(),
        "to": report.span.last_day.isoformat(),
        **{
            name: [
                {column: _plain(value) for column, value in zip(result.columns, row, strict=True)}
                for row in result.rows
            ]
            for name, result in report.sections.items()
        },
    }


def to_json(report: LakeReport) -> str:
    return json.dumps(to_data(report), indent=2, ensure_ascii=False)


def _column(result: QueryResult, name: str) -> list[Any]:
    index = result.columns.index(name)
    return [row[index] for row in result.rows]


def write_charts(report: LakeReport, path: Path) -> None:
    """One PNG: revenue and orders per day, top products by revenue, stock in and out per day."""
    # Imported here: matplotlib is slow to import and only charts need it (Agg canvas, no pyplot).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 12), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    revenue_axes, products_axes, stock_axes = figure.subplots(3, 1)
    daily = report.sections["daily"]
    days = _column(daily, "order_day")
    revenue_axes.bar(days, [float(v) for v in _column(daily, "revenue")], color="#4c72b0")
    revenue_axes.set_ylabel("revenue")
    orders_axes = revenue_axes.twinx()
    orders_axes.plot(days, _column(daily, "orders"), color="#dd8452", marker="o")
    orders_axes.set_ylabel("orders placed")
    revenue_axes.set_title("Revenue (paid orders) and orders per day")
    revenue_axes.tick_params(axis="x", labelrotation=45)

    top = report.sections["top_by_revenue"]
    names = [str(name) for name in _column(top, "product_name")][::-1]
    products_axes.barh(names, [float(v) for v in _column(top, "revenue")][::-1], color="#55a868")
    products_axes.set_title("Top products by revenue")

    moves = report.sections["stock_movements"]
    by_day: dict[str, list[int]] = {}
    for day, units_in, units_out in zip(
        _column(moves, "movement_day"),
        _column(moves, "units_in"),
        _column(moves, "units_out"),
        strict=True,
    ):
        totals = by_day.setdefault(day, [0, 0])
        totals[0] += int(units_in)
        totals[1] += int(units_out)
    stock_days = list(by_day)
    stock_axes.bar(stock_days, [v[0] for v in by_day.values()], color="#55a868", label="in")
    stock_axes.bar(stock_days, [-v[1] for v in by_day.values()], color="#c44e52", label="out")
    stock_axes.set_title("Stock movements (units in and out)")
    stock_axes.legend()
    stock_axes.tick_params(axis="x", labelrotation=45)
    figure.suptitle(f"cloudmall lake report {report.span.first_day} … {report.span.last_day}")
    figure.savefig(path, format="png")
