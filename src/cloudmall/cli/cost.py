"""`cloudmall cost`: monthly AWS cost estimates from a usage profile, a CDK/CloudFormation
template or the guide's Lambda formula. Mounted by the main CLI as ``cloudmall cost``."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cloudmall.cli.runner import one_line_errors
from cloudmall.cost.errors import CostError, ProfileError
from cloudmall.cost.estimate import Estimate, estimate, lambda_usage, yearly_comparison
from cloudmall.cost.pricebook import PriceBook, load_price_book
from cloudmall.cost.profile import (
    SHIPPED_PROFILES,
    Cache,
    CdnUsage,
    Database,
    InstanceGroup,
    NetworkUsage,
    Profile,
    S3Usage,
    load_profile,
    load_shipped_profile,
    profile_usage,
)
from cloudmall.cost.render import money, print_table, to_json, to_markdown, write_chart
from cloudmall.cost.template import Assumptions, load_template, template_inventory

app = typer.Typer(
    help=(
        "Monthly AWS cost estimates (list prices, offline): from a usage profile, a CDK "
        "cdk.out/CloudFormation template, or the guide's Lambda formula."
    ),
    no_args_is_help=True,
)

DEFAULT_REGION = "ap-northeast-2"


class OutputFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


class Purchase(StrEnum):
    on_demand = "on-demand"
    reserved_1y = "reserved-1y"
    spot = "spot"


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"{text!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{text!r} must be a finite number ≥ 0")
    return value


RegionOpt = Annotated[
    str | None,
    typer.Option(help="AWS region to price (default: the profile's, else ap-northeast-2)."),
]
PricesOpt = Annotated[
    Path | None,
    typer.Option("--prices", help="Your own price book (.json or .toml) instead of the built-in."),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
ChartOpt = Annotated[
    Path | None, typer.Option("--chart", help="Also write a PNG pie chart of the bill here.")
]
PurchaseOpt = Annotated[
    Purchase,
    typer.Option(help="Purchase option for instance hours (EC2; reserved also RDS/ElastiCache)."),
]
HoursOpt = Annotated[
    Decimal | None,
    typer.Option(
        parser=_decimal, metavar="HOURS", help="Hours in a month (the guide: 24 × 30 = 720)."
    ),
]


def amount(metavar: str, help: str) -> Any:
    """A decimal option: `metavar` names its unit (GB, TB, MS), `help` says what it counts."""
    return typer.Option(parser=_decimal, metavar=metavar, help=help)


def _one_line_errors() -> AbstractContextManager[None]:
    """Bad input ends the command with ``error: ...`` on stderr and exit status 1."""
    return one_line_errors(CostError)


def _emit(result: Estimate, fmt: OutputFormat, chart: Path | None) -> None:
    if chart is not None:  # first, so a chart that cannot be written leaves stdout empty
        write_chart(result, chart)
        typer.echo(f"chart written to {chart}", err=True)
    if fmt is OutputFormat.json:
        typer.echo(to_json(result))
    elif fmt is OutputFormat.markdown:
        typer.echo(to_markdown(result))
    else:
        print_table(result, Console())


def _book(prices: Path | None) -> PriceBook:
    return load_price_book(prices)


_SPEC = re.compile(r"^(?P<kind>[a-z0-9][a-z0-9.\-]*)(?::(?P<count>\d+))?$")


def _spec(text: str, option: str) -> tuple[str, int]:
    """``t3.medium:3`` → ("t3.medium", 3); the count defaults to 1."""
    match = _SPEC.match(text.strip().lower())
    if match is None:
        raise ProfileError(f"{option} {text!r}: expected TYPE or TYPE:COUNT, e.g. t3.medium:3")
    return match["kind"], int(match["count"] or 1)


def _flag_profile(
    base: Profile | None,
    ec2: list[str],
    rds: list[str],
    rds_multi_az: bool,
    cache: list[str],
    s3_gb: Decimal | None,
    cdn_tb: Decimal | None,
    internet_tb: Decimal | None,
) -> Profile:
    profile = base or Profile(name="command-line profile")
    compute = list(profile.compute)
    for text in ec2:
        kind, count = _spec(text, "--ec2")
        compute.append(InstanceGroup(instance_type=kind, count=count))
    databases = list(profile.databases)
    for text in rds:
        kind, count = _spec(text, "--rds")
        databases.append(Database(instance_class=kind, count=count, multi_az=rds_multi_az))
    caches = list(profile.caches)
    for text in cache:
        kind, count = _spec(text, "--cache")
        caches.append(Cache(node_type=kind, nodes=count))
    update: dict[str, object] = {"compute": compute, "databases": databases, "caches": caches}
    if s3_gb is not None:
        update["s3"] = S3Usage(**{**profile.s3.model_dump(), "standard_gb": s3_gb})
    if cdn_tb is not None:
        update["cdn"] = CdnUsage(**{**profile.cdn.model_dump(), "data_out_tb": cdn_tb})
    if internet_tb is not None:
        update["network"] = NetworkUsage(
            **{**profile.network.model_dump(), "internet_out_tb": internet_tb}
        )
    return profile.model_copy(update=update)


@app.command("profile")
def profile_command(
    file: Annotated[
        Path | None, typer.Argument(help="A usage profile (.yaml/.yml/.toml).", show_default=False)
    ] = None,
    guide: Annotated[
        bool, typer.Option("--guide", help="The guide's shopping-mall table (shipped profile).")
    ] = False,
    shipped: Annotated[
        str | None,
        typer.Option(help=f"A shipped profile: {', '.join(SHIPPED_PROFILES)}."),
    ] = None,
    ec2: Annotated[
        list[str] | None, typer.Option(help="EC2 instances, TYPE[:COUNT]; repeatable.")
    ] = None,
    rds: Annotated[
        list[str] | None, typer.Option(help="RDS MySQL instances, CLASS[:COUNT]; repeatable.")
    ] = None,
    multi_az: Annotated[
        bool, typer.Option("--multi-az", help="The --rds instances are Multi-AZ.")
    ] = False,
    cache: Annotated[
        list[str] | None, typer.Option(help="ElastiCache Redis nodes, TYPE[:COUNT]; repeatable.")
    ] = None,
    s3_gb: Annotated[
        Decimal | None, typer.Option(parser=_decimal, metavar="GB", help="S3 Standard GB stored.")
    ] = None,
    cdn_tb: Annotated[
        Decimal | None, typer.Option(parser=_decimal, metavar="TB", help="CloudFront TB out.")
    ] = None,
    internet_tb: Annotated[
        Decimal | None,
        typer.Option(parser=_decimal, metavar="TB", help="Internet TB out, not via CloudFront."),
    ] = None,
    region: RegionOpt = None,
    prices: PricesOpt = None,
    output: FormatOpt = OutputFormat.table,
    chart: ChartOpt = None,
    purchase: PurchaseOpt = Purchase.on_demand,
    hours: HoursOpt = None,
) -> None:
    """Estimate a month from a usage profile file, the guide's table (--guide), or flags."""
    with _one_line_errors():
        sources = [file is not None, guide, shipped is not None]
        if sum(sources) > 1:
            raise ProfileError("give one of FILE, --guide or --shipped, not several")
        base: Profile | None = None
        if file is not None:
            base = load_profile(file)
        elif guide:
            base = load_shipped_profile()
        elif shipped is not None:
            base = load_shipped_profile(shipped)
        flags = [ec2, rds, cache, s3_gb, cdn_tb, internet_tb]
        if base is None and not any(flag for flag in flags if flag is not None):
            raise ProfileError(
                "nothing to estimate: give a profile FILE, --guide, or flags like --ec2 t3.medium:3"
            )
        profile = _flag_profile(
            base, ec2 or [], rds or [], multi_az, cache or [], s3_gb, cdn_tb, internet_tb
        )
        if hours is not None:
            profile = profile.model_copy(update={"hours_per_month": hours})
        book = _book(prices)
        result = estimate(
            profile_usage(profile),
            book,
            region=region or profile.region,
            title=profile.name,
            purchase=purchase.value,
            hours_per_month=profile.hours_per_month,
        )
        _emit(result, output, chart)


@app.command("template")
def template_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A cdk.out directory or a CloudFormation template (.json/.yaml).",
            show_default=False,
        ),
    ],
    stack: Annotated[
        str | None, typer.Option(help="Stack to price when cdk.out holds several.")
    ] = None,
    s3_gb: Annotated[Decimal, amount("GB", "S3 Standard GB stored.")] = Decimal(0),
    cdn_tb: Annotated[Decimal, amount("TB", "CloudFront TB out.")] = Decimal(0),
    internet_tb: Annotated[Decimal, amount("TB", "Internet TB out, not via CloudFront.")] = Decimal(
        0
    ),
    requests: Annotated[
        int, typer.Option(min=0, help="HTTP requests a month (CloudFront, WAF).")
    ] = 0,
    lcu: Annotated[
        Decimal, amount("N", "Load balancer capacity units (LCU), on average.")
    ] = Decimal(1),
    nat_gb: Annotated[Decimal, amount("GB", "GB through NAT gateways a month.")] = Decimal(0),
    log_gb: Annotated[Decimal, amount("GB", "CloudWatch Logs GB ingested a month.")] = Decimal(0),
    db_storage_gb: Annotated[
        Decimal, amount("GB", "Database storage GB (Aurora, a DynamoDB table).")
    ] = Decimal(0),
    dynamodb_reads_per_call: Annotated[
        Decimal, amount("N", "DynamoDB read request units per API call (on demand).")
    ] = Assumptions.dynamodb_reads_per_call,
    dynamodb_writes_per_call: Annotated[
        Decimal, amount("N", "DynamoDB write request units per API call (on demand).")
    ] = Assumptions.dynamodb_writes_per_call,
    lambda_requests: Annotated[int, typer.Option(min=0, help="Lambda invocations a month.")] = 0,
    lambda_duration_ms: Annotated[
        Decimal, amount("MS", "Average Lambda duration in milliseconds.")
    ] = Decimal(100),
    athena_gb: Annotated[Decimal, amount("GB", "GB Athena scans a month.")] = Decimal(0),
    glue_requests: Annotated[
        int, typer.Option(min=0, help="Glue Data Catalog requests a month.")
    ] = 0,
    api_requests: Annotated[
        int, typer.Option(min=0, help="HTTP API requests a month (shared by its functions).")
    ] = 0,
    snapstart_restores: Annotated[
        int,
        typer.Option(
            min=0, help="Containers resumed from a snapshot a month, per SnapStart function."
        ),
    ] = 0,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail if any resource cannot be priced.")
    ] = False,
    region: Annotated[str, typer.Option(help="AWS region to price.")] = DEFAULT_REGION,
    prices: PricesOpt = None,
    output: FormatOpt = OutputFormat.table,
    chart: ChartOpt = None,
    purchase: PurchaseOpt = Purchase.on_demand,
    hours: HoursOpt = None,
) -> None:
    """Estimate a month for a synthesized stack (cdk.out or a template file).

    Every resource is listed as priced, free or unpriced; usage-driven charges come from the
    options (S3 GB, CDN TB, requests, LCUs, NAT GB...)."""
    with _one_line_errors():
        book = _book(prices)
        book.check_region(region)
        assumptions = Assumptions(
            hours_per_month=hours if hours is not None else Assumptions.hours_per_month,
            s3_storage_gb=s3_gb,
            cdn_out_tb=cdn_tb,
            internet_out_tb=internet_tb,
            requests=requests,
            lcu_per_load_balancer=lcu,
            nat_processed_gb=nat_gb,
            log_ingest_gb=log_gb,
            db_storage_gb=db_storage_gb,
            lambda_requests=lambda_requests,
            lambda_duration_ms=lambda_duration_ms,
            athena_scanned_gb=athena_gb,
            glue_catalog_requests=glue_requests,
            api_requests=api_requests,
            snapstart_restores=snapstart_restores,
            dynamodb_reads_per_call=dynamodb_reads_per_call,
            dynamodb_writes_per_call=dynamodb_writes_per_call,
        )
        loaded = load_template(path, stack)
        inventory = template_inventory(loaded, assumptions)
        result = estimate(
            inventory.usage,
            book,
            region=region,
            title=loaded.name,
            purchase=purchase.value,
            hours_per_month=assumptions.hours_per_month,
            strict=False,
            unpriced=inventory.unpriced,
            resources=inventory.resources,
            assumptions=assumptions.describe(),
            notes=inventory.notes,
        )
        if strict and result.unpriced:
            first = result.unpriced[0]
            more = len(result.unpriced) - 1
            raise CostError(
                f"{first.component}: {first.reason}" + (f" (and {more} more)" if more else "")
            )
        _emit(result, output, chart)


@app.command("lambda")
def lambda_command(
    requests: Annotated[int, typer.Option(min=0, help="Invocations a month.")] = 3_000_000,
    duration_ms: Annotated[
        Decimal, typer.Option(parser=_decimal, metavar="MS", help="Average duration.")
    ] = Decimal(500),
    memory_mb: Annotated[int, typer.Option(min=128, max=10240, help="Memory.")] = 128,
    region: Annotated[str, typer.Option(help="AWS region to price.")] = DEFAULT_REGION,
    prices: PricesOpt = None,
    output: FormatOpt = OutputFormat.table,
    chart: ChartOpt = None,
) -> None:
    """The guide's Lambda formula: requests/1M × $0.20 + GB-seconds × $0.0000166667.

    Defaults are the guide's example (3,000,000 calls × 500 ms × 128 MB)."""
    with _one_line_errors():
        book = _book(prices)
        lines = lambda_usage(requests=requests, duration_ms=duration_ms, memory_mb=memory_mb)
        result = estimate(lines, book, region=region, title="Lambda (the guide's formula)")
        _emit(result, output, chart)


@app.command("savings")
def savings_command(
    monthly: Annotated[
        Decimal, typer.Option(parser=_decimal, metavar="USD", help="Monthly on-demand bill.")
    ] = Decimal(100),
    purchase: PurchaseOpt = Purchase.reserved_1y,
    prices: PricesOpt = None,
) -> None:
    """A year on demand against a purchase option (the guide: $1,200 → $720 reserved).

    The guide's arithmetic: $100/month on demand is $1,200 a year; 40 % off makes it $720."""
    with _one_line_errors():
        option = _book(prices).purchase_option(purchase.value)
        discount = option.discount if option is not None else Decimal(0)
        result = yearly_comparison(monthly, discount)
        typer.echo(
            f"on-demand {money(result.on_demand)}/year; {purchase.value} "
            f"{money(result.discounted)}/year; saves {money(result.savings)}"
        )


@app.command("prices")
def prices_command(
    region: Annotated[str, typer.Option(help="AWS region.")] = DEFAULT_REGION,
    service: Annotated[str | None, typer.Option(help="Only this service (e.g. ec2).")] = None,
    prices: PricesOpt = None,
) -> None:
    """List the price book's entries for a region, with their sources and dates."""
    with _one_line_errors():
        book = _book(prices)
        book.check_region(region)
        table = Table(title=f"{book.name}: {region} (as of {book.as_of})", title_justify="left")
        for column in ("Service", "SKU", "Price", "Per", "As of", "Source"):
            table.add_column(column)
        for entry in book.entries:
            if entry.region != region or (service and entry.service != service):
                continue
            table.add_row(
                entry.service,
                entry.sku,
                f"${entry.price}",
                f"{entry.per} {entry.unit}" if entry.per != 1 else entry.unit,
                entry.as_of.isoformat(),
                entry.source,
            )
        console = Console()
        console.print(table)
        console.print(book.source_note)
