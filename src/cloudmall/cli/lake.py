"""`cloudmall lake export [--follow] | query "SQL" | report` (see docs/lake.md)."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cloudmall.cli import lake_render
from cloudmall.cli.runner import console, err, fail, load_settings, open_shop, run, stop_on_signals
from cloudmall.domain.errors import CloudmallError
from cloudmall.services import commands as c
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.lake import (
    LAKE_MAX_DELAY_SECONDS,
    Exporter,
    ExportResult,
    LakeReport,
    ReportSpan,
)
from cloudmall.services.ports import Compaction, QueryResult

lake_app = typer.Typer(
    help="The data lake: export the outbox's events as Parquet, query and report with DuckDB.",
    no_args_is_help=True,
)


class Format(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    PNG = "png"


def _said(result: ExportResult) -> str:
    return (
        f"exported {result.events} events in {result.batches} batches "
        f"({result.files} files); {result.purged} left the outbox"
    )


async def _follow(interval: float) -> None:
    async with open_shop(load_settings()) as shop:
        exporter = shop.tiers["exporter"]
        assert isinstance(exporter, Exporter)
        stop = stop_on_signals()
        await exporter.follow(
            backoff=Backoff(interval=interval, max_delay=LAKE_MAX_DELAY_SECONDS),
            stop=stop,
            report=lambda r: console.print(_said(r)),
        )


async def _export_once() -> ExportResult:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.ExportEvents())


@lake_app.command("export")
def export(
    follow: Annotated[
        bool, typer.Option("--follow", help="keep exporting new events until stopped")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="seconds between rounds with --follow")
    ] = 5.0,
) -> None:
    """Move the outbox's events to the lake (CLOUDMALL_LAKE_URL) as Parquet; safe to rerun."""
    if follow:
        run(_follow(interval))
        return
    console.print(_said(run(_export_once())))


async def _compact(day: date) -> Compaction:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.CompactLake(day))


@lake_app.command("compact")
def compact(
    day: Annotated[str, typer.Option("--day", help="the day whose files to merge (YYYY-MM-DD)")],
) -> None:
    """Merge a day's small files (one per export batch) into one file per partition; safe to
    rerun, and to stop part-way."""
    the_day = _day(day, "--day")
    assert the_day is not None
    done = run(_compact(the_day))
    console.print(
        f"merged {done.parts} files into {done.partitions} ({done.rows} rows) for {the_day}"
    )


async def _query(sql: str) -> QueryResult:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.QueryLake(sql))


@lake_app.command("query")
def query(
    sql: Annotated[str, typer.Argument(help="one SQL statement over `events` and `order_lines`")],
    output: Annotated[Format, typer.Option("--format", help="table, markdown or json")] = (
        Format.TABLE
    ),
) -> None:
    """Run SQL over the lake with DuckDB."""
    if output is Format.PNG:
        raise fail("a query prints as table, markdown or json")
    result = run(_query(sql))
    if output is Format.TABLE:
        console.print(lake_render.result_table(result))
        return
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    if output is Format.JSON:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    typer.echo("| " + " | ".join(result.columns) + " |")
    typer.echo("|" + "---|" * len(result.columns))
    for row in result.rows:
        typer.echo("| " + " | ".join(lake_render.cell(v) for v in row) + " |")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"{option} must be a day as YYYY-MM-DD, not {text!r}") from None


async def _report(span: ReportSpan) -> LakeReport:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.ReportFromLake(span))


@lake_app.command("report")
def report(
    first: Annotated[
        str | None, typer.Option("--from", help="first day (YYYY-MM-DD); default 29 days ago")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="last day; default today (UTC)")] = None,
    output: Annotated[Format, typer.Option("--format", help="table, markdown, json or png")] = (
        Format.TABLE
    ),
    chart: Annotated[
        Path, typer.Option("--output", help="the PNG file to write with --format png")
    ] = Path("lake-report.png"),
) -> None:
    """Daily revenue and orders, average order value, top products, cancellation and payment
    decline rates, stock movements."""
    try:
        span = ReportSpan.of(_day(first, "--from"), _day(last, "--to"))
    except CloudmallError as exc:
        raise fail(exc.message) from None
    found = run(_report(span))
    if output is Format.TABLE:
        lake_render.print_tables(found, console)
    elif output is Format.MARKDOWN:
        typer.echo(lake_render.to_markdown(found), nl=False)
    elif output is Format.JSON:
        typer.echo(lake_render.to_json(found))
    else:
        try:
            lake_render.write_charts(found, chart)
        except OSError as exc:
            raise fail(f"cannot write {chart}: {exc.strerror or exc}") from None
        err.print(f"wrote {chart}")
