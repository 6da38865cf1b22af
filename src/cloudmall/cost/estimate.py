"""Pure pricing: usage lines × price book × purchase option → an estimate.

Nothing here reads files or prints. Amounts are exact :class:`~decimal.Decimal` values; only the
renderers round them (to cents).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from cloudmall.cost.errors import MissingPriceError
from cloudmall.cost.pricebook import PriceBook, PriceEntry, PurchaseName

HOURS_PER_MONTH_GUIDE = Decimal(720)
"""The guide's month: 24 hours × 30 days (AWS's own calculator uses 730)."""

GB_PER_TB = Decimal(1000)
"""The guide prices 1 TB of CloudFront transfer as 1,000 GB × $0.085 = $85 (decimal units)."""

MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class UsageLine:
    """A quantity of one priced thing, in the unit of its price-book entry."""

    component: str
    """What it is, for people: "EC2 t3.medium × 3 (WebServers)"."""
    category: str
    """The bill's group (a slice of the pie): "EC2", "RDS", "CloudFront", ..."""
    service: str
    sku: str
    quantity: Decimal
    logical_id: str | None = None
    resource_type: str | None = None
    purchase: PurchaseName | None = None
    """A per-line purchase option overriding the estimate's (e.g. a reserved database)."""
    note: str | None = None


@dataclass(frozen=True)
class CostLine:
    """A priced usage line."""

    usage: UsageLine
    entry: PriceEntry
    purchase: PurchaseName
    on_demand: Decimal
    discount: Decimal
    cost: Decimal
    note: str | None = None


ResourceStatus = Literal["priced", "free", "unpriced"]


@dataclass(frozen=True)
class ResourceFinding:
    """A template resource and what the estimate did with it."""

    logical_id: str
    resource_type: str
    status: ResourceStatus
    detail: str


@dataclass(frozen=True)
class Unpriced:
    """Something billable that has no price in the book: listed, never silently dropped."""

    component: str
    reason: str
    logical_id: str | None = None
    resource_type: str | None = None


@dataclass(frozen=True)
class Estimate:
    """A monthly bill: priced lines, and what was found but left out of the total (and why)."""

    title: str
    region: str
    region_name: str
    purchase: PurchaseName
    hours_per_month: Decimal
    price_book: str
    price_book_as_of: str
    lines: tuple[CostLine, ...]
    unpriced: tuple[Unpriced, ...] = ()
    resources: tuple[ResourceFinding, ...] = ()
    assumptions: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def total(self) -> Decimal:
        return sum((line.cost for line in self.lines), Decimal(0))

    @property
    def on_demand_total(self) -> Decimal:
        return sum((line.on_demand for line in self.lines), Decimal(0))

    @property
    def yearly_total(self) -> Decimal:
        return self.total * MONTHS_PER_YEAR

    def by_category(self) -> dict[str, Decimal]:
        """Monthly cost per category, largest first (the pie chart's slices)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[line.usage.category] += line.cost
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def price_line(line: UsageLine, book: PriceBook, region: str, purchase: PurchaseName) -> CostLine:
    """Price one usage line; raises :class:`MissingPriceError` if the book lacks its price."""
    entry = book.price(region, line.service, line.sku)
    wanted: PurchaseName = line.purchase or purchase
    on_demand = entry.cost(line.quantity)
    option = book.purchase_option(wanted)
    if option is None:
        return CostLine(line, entry, "on-demand", on_demand, Decimal(0), on_demand)
    if line.service not in option.applies_to:
        note = None
        if _is_instance_line(line):
            note = f"{wanted} does not apply to {line.service}; priced on-demand"
        return CostLine(line, entry, "on-demand", on_demand, Decimal(0), on_demand, note)
    cost = on_demand * (1 - option.discount)
    return CostLine(line, entry, wanted, on_demand, option.discount, cost)


def _is_instance_line(line: UsageLine) -> bool:
    return line.service in {"ec2", "rds.mysql", "rds.aurora-mysql", "elasticache.redis"}


def estimate(
    usage: list[UsageLine],
    book: PriceBook,
    *,
    region: str,
    title: str,
    purchase: PurchaseName = "on-demand",
    hours_per_month: Decimal = HOURS_PER_MONTH_GUIDE,
    strict: bool = True,
    unpriced: list[Unpriced] | None = None,
    resources: list[ResourceFinding] | None = None,
    assumptions: list[tuple[str, str]] | None = None,
    notes: list[str] | None = None,
) -> Estimate:
    """Price every usage line.

    With ``strict`` a missing price raises; otherwise the line is reported in ``unpriced`` (and
    its resource, if any, marked unpriced) and left out of the total.
    """
    book.check_region(region)
    book.purchase_option(purchase)  # fail early on a purchase option the book lacks
    lines: list[CostLine] = []
    missing = list(unpriced or [])
    failed: dict[str, str] = {}
    for line in usage:
        try:
            lines.append(price_line(line, book, region, purchase))
        except MissingPriceError as exc:
            if strict:
                raise
            missing.append(Unpriced(line.component, str(exc), line.logical_id, line.resource_type))
            if line.logical_id is not None:
                failed.setdefault(line.logical_id, str(exc))
    priced_ids = {line.usage.logical_id for line in lines}
    findings = [_after_pricing(r, failed, priced_ids) for r in (resources or [])]
    return Estimate(
        title=title,
        region=region,
        region_name=book.regions[region],
        purchase=purchase,
        hours_per_month=hours_per_month,
        price_book=book.name,
        price_book_as_of=book.as_of.isoformat(),
        lines=tuple(lines),
        unpriced=tuple(missing),
        resources=tuple(findings),
        assumptions=tuple(assumptions or []),
        notes=tuple(notes or []),
    )


def _after_pricing(
    finding: ResourceFinding, failed: dict[str, str], priced_ids: set[str | None]
) -> ResourceFinding:
    """A resource whose prices are missing is unpriced; partly missing, it says so."""
    if finding.status != "priced" or finding.logical_id not in failed:
        return finding
    reason = failed[finding.logical_id]
    if finding.logical_id in priced_ids:
        detail = f"{finding.detail}; partly unpriced: {reason}"
        return ResourceFinding(finding.logical_id, finding.resource_type, "priced", detail)
    return ResourceFinding(finding.logical_id, finding.resource_type, "unpriced", reason)


def lambda_usage(
    *,
    requests: int,
    duration_ms: Decimal,
    memory_mb: int,
    name: str = "Lambda",
    logical_id: str | None = None,
    resource_type: str | None = None,
    compute_sku: str = "gb-second",
) -> list[UsageLine]:
    """The guide's serverless formula as two usage lines (`compute_sku` "gb-second/arm64" for
    Arm functions).

    requests cost = requests / 1,000,000 × $0.20;
    compute cost = requests × seconds × memory_MB / 1024 × $0.0000166667 per GB-second.
    """
    gb_seconds = Decimal(requests) * (duration_ms / 1000) * Decimal(memory_mb) / 1024
    detail = f"{requests:,} requests × {plain_number(duration_ms)} ms × {memory_mb} MB"
    where = f" ({logical_id})" if logical_id else ""
    return [
        UsageLine(
            f"{name} requests ({requests:,}/month){where}",
            "Lambda",
            "lambda",
            "requests",
            Decimal(requests),
            logical_id,
            resource_type,
        ),
        UsageLine(
            f"{name} compute ({plain_number(gb_seconds)} GB-s: {detail}){where}",
            "Lambda",
            "lambda",
            compute_sku,
            gb_seconds,
            logical_id,
            resource_type,
        ),
    ]


@dataclass(frozen=True)
class YearlyComparison:
    """The guide's reserved-instance arithmetic: a monthly on-demand bill over a year."""

    on_demand: Decimal
    discounted: Decimal

    @property
    def savings(self) -> Decimal:
        return self.on_demand - self.discounted


def yearly_comparison(monthly_on_demand: Decimal, discount: Decimal) -> YearlyComparison:
    """E.g. $100/month at 40 % off: $1,200 a year on demand, $720 reserved, $480 saved."""
    on_demand = monthly_on_demand * MONTHS_PER_YEAR
    return YearlyComparison(on_demand, on_demand * (1 - discount))


def plain_number(value: Decimal | int) -> str:
    """A Decimal without exponent or trailing zeros, with thousands separators; a quantity of
    one or more is shown to two decimals (100 GB / 3 is ``33.33``, not 28 threes), a smaller
    one to four significant digits (unit prices such as 0.0000166667 stay readable)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = value.to_integral_value()
    elif isinstance(value, Decimal) and abs(value) >= 1:
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    elif isinstance(value, Decimal) and value != 0:
        value = value.quantize(Decimal(1).scaleb(value.adjusted() - 3), rounding=ROUND_HALF_UP)
    text = f"{value:,f}" if isinstance(value, Decimal) else f"{value:,}"
    return text.rstrip("0").rstrip(".") if "." in text else text
