"""Usage profiles: what a deployment runs and uses in a month, turned into usage lines.

A profile is YAML or TOML (or built from CLI flags). Storage is in GB, transfer in TB (decimal:
1 TB = 1,000 GB, as the guide computes CloudFront's 1 TB × $0.085/GB = $85), requests per month.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudmall.cost.errors import ProfileError, describe_validation_error
from cloudmall.cost.estimate import (
    GB_PER_TB,
    HOURS_PER_MONTH_GUIDE,
    UsageLine,
    lambda_usage,
    plain_number,
)
from cloudmall.cost.pricebook import PurchaseName

GUIDE_PROFILE = "guide-shopping-mall.yaml"
SHIPPED_PROFILES = ("guide-shopping-mall.yaml", "shopping-mall-seoul.yaml")

Amount = Annotated[Decimal, Field(ge=0)]
"""A non-negative quantity (GB, TB) read exactly."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceGroup(_Model):
    name: str = "EC2"
    instance_type: str = Field(min_length=1)
    count: int = Field(default=1, ge=0)
    ebs_gp3_gb_each: Amount = Decimal(0)
    purchase: PurchaseName | None = None


class Database(_Model):
    name: str = "RDS"
    engine: Literal["mysql"] = "mysql"
    instance_class: str = Field(min_length=1)
    multi_az: bool = False
    count: int = Field(default=1, ge=0)
    storage_gb: Amount = Decimal(0)
    storage_type: Literal["gp2", "gp3"] = "gp3"
    purchase: PurchaseName | None = None


class Cache(_Model):
    name: str = "ElastiCache"
    engine: Literal["redis"] = "redis"
    node_type: str = Field(min_length=1)
    nodes: int = Field(default=1, ge=0)
    purchase: PurchaseName | None = None


class S3Usage(_Model):
    standard_gb: Amount = Decimal(0)
    standard_ia_gb: Amount = Decimal(0)
    glacier_gb: Amount = Decimal(0)
    put_requests: int = Field(default=0, ge=0)
    get_requests: int = Field(default=0, ge=0)


class CdnUsage(_Model):
    data_out_tb: Amount = Decimal(0)
    https_requests: int = Field(default=0, ge=0)


class NetworkUsage(_Model):
    internet_out_tb: Amount = Decimal(0)
    """Data sent to the internet from the region directly (not through CloudFront)."""
    load_balancers: int = Field(default=0, ge=0)
    lcu_per_load_balancer: Decimal = Field(default=Decimal(1), ge=0)
    nat_gateways: int = Field(default=0, ge=0)
    nat_processed_gb: Amount = Decimal(0)
    public_ipv4_addresses: int = Field(default=0, ge=0)
    interface_endpoint_azs: int = Field(default=0, ge=0)
    """Interface VPC endpoints × the zones each is in (each pair is billed per hour)."""


class WafUsage(_Model):
    web_acls: int = Field(default=0, ge=0)
    rules: int = Field(default=0, ge=0)
    requests: int = Field(default=0, ge=0)


class Monitoring(_Model):
    alarms: int = Field(default=0, ge=0)
    dashboards: int = Field(default=0, ge=0)
    secrets: int = Field(default=0, ge=0)
    custom_metrics: int = Field(default=0, ge=0)
    """Custom metrics, such as those log metric filters publish."""
    kms_keys: int = Field(default=0, ge=0)
    log_ingest_gb: Amount = Decimal(0)


class FunctionUsage(_Model):
    name: str = "Lambda"
    requests: int = Field(ge=0)
    duration_ms: Decimal = Field(gt=0)
    memory_mb: int = Field(ge=128, le=10240)


class Profile(_Model):
    """A month of usage. Every section is optional; an empty profile costs nothing."""

    name: str = Field(min_length=1)
    description: str = ""
    region: str = "ap-northeast-2"
    hours_per_month: Decimal = Field(default=HOURS_PER_MONTH_GUIDE, gt=0, le=744)
    compute: list[InstanceGroup] = Field(default_factory=list)
    databases: list[Database] = Field(default_factory=list)
    caches: list[Cache] = Field(default_factory=list)
    s3: S3Usage = Field(default_factory=S3Usage)
    cdn: CdnUsage = Field(default_factory=CdnUsage)
    network: NetworkUsage = Field(default_factory=NetworkUsage)
    waf: WafUsage = Field(default_factory=WafUsage)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    functions: list[FunctionUsage] = Field(default_factory=list)


def parse_profile(raw: object, *, origin: str) -> Profile:
    """Validate already-parsed profile data."""
    if not isinstance(raw, dict):
        raise ProfileError(f"invalid profile {origin}: expected a mapping at the top level")
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(describe_validation_error(f"profile {origin}", exc)) from exc


def parse_profile_text(text: str, *, fmt: Literal["yaml", "toml"], origin: str) -> Profile:
    """Parse YAML or TOML profile text and validate it."""
    try:
        raw: object = (
            tomllib.loads(text, parse_float=Decimal) if fmt == "toml" else yaml.safe_load(text)
        )
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProfileError(f"cannot parse profile {origin}: {first_line}") from exc
    return parse_profile(raw, origin=origin)


def load_profile(path: Path) -> Profile:
    """Load a ``.yaml``/``.yml`` or ``.toml`` profile file."""
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".toml"}:
        raise ProfileError(f"profile {path}: expected a .yaml, .yml or .toml file")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise ProfileError(f"profile not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from exc
    return parse_profile_text(text, fmt="toml" if suffix == ".toml" else "yaml", origin=str(path))


def load_shipped_profile(name: str = GUIDE_PROFILE) -> Profile:
    """A profile shipped in ``cloudmall/cost/data`` (default: the guide's shopping mall)."""
    if name not in SHIPPED_PROFILES:
        raise ProfileError(f"no shipped profile {name!r}: choose {', '.join(SHIPPED_PROFILES)}")
    text = resources.files("cloudmall.cost.data").joinpath(name).read_text("utf-8")
    return parse_profile_text(text, fmt="yaml", origin=f"(shipped) {name}")


_n = plain_number


def profile_usage(profile: Profile) -> list[UsageLine]:
    """Every usage line the profile implies, in bill order."""
    hours = profile.hours_per_month
    h = _n(hours)
    lines: list[UsageLine] = []
    for group in profile.compute:
        if group.count == 0:
            continue
        label = f"{group.name}: {group.instance_type} × {group.count}, {h} h"
        lines.append(
            UsageLine(
                label,
                "EC2",
                "ec2",
                group.instance_type,
                hours * group.count,
                purchase=group.purchase,
            )
        )
        if group.ebs_gp3_gb_each:
            gb = group.ebs_gp3_gb_each * group.count
            lines.append(UsageLine(f"{group.name}: EBS gp3 {_n(gb)} GB", "EBS", "ebs", "gp3", gb))
    for db in profile.databases:
        if db.count == 0:
            continue
        az = "multi-az" if db.multi_az else "single-az"
        az_label = "Multi-AZ" if db.multi_az else "Single-AZ"
        lines.append(
            UsageLine(
                f"{db.name}: {db.instance_class} {az_label} × {db.count}, {h} h",
                "RDS",
                f"rds.{db.engine}",
                f"{db.instance_class}/{az}",
                hours * db.count,
                purchase=db.purchase,
            )
        )
        if db.storage_gb:
            gb = db.storage_gb * db.count
            lines.append(
                UsageLine(
                    f"{db.name}: storage {db.storage_type} {_n(gb)} GB {az_label}",
                    "RDS",
                    "rds.storage",
                    f"{db.storage_type}/{az}",
                    gb,
                )
            )
    for cache in profile.caches:
        if cache.nodes == 0:
            continue
        lines.append(
            UsageLine(
                f"{cache.name}: {cache.node_type} × {cache.nodes}, {h} h",
                "ElastiCache",
                f"elasticache.{cache.engine}",
                cache.node_type,
                hours * cache.nodes,
                purchase=cache.purchase,
            )
        )
    s3 = profile.s3
    for gb, sku, label in (
        (s3.standard_gb, "standard", "Standard"),
        (s3.standard_ia_gb, "standard-ia", "Standard-IA"),
        (s3.glacier_gb, "glacier-flexible", "Glacier Flexible Retrieval"),
    ):
        if gb:
            lines.append(UsageLine(f"S3 {label}: {_n(gb)} GB stored", "S3", "s3", sku, gb))
    if s3.put_requests:
        lines.append(
            UsageLine(
                f"S3 PUT/LIST requests: {_n(s3.put_requests)}",
                "S3",
                "s3",
                "standard/put",
                Decimal(s3.put_requests),
            )
        )
    if s3.get_requests:
        lines.append(
            UsageLine(
                f"S3 GET requests: {_n(s3.get_requests)}",
                "S3",
                "s3",
                "standard/get",
                Decimal(s3.get_requests),
            )
        )
    cdn = profile.cdn
    if cdn.data_out_tb:
        gb = cdn.data_out_tb * GB_PER_TB
        lines.append(
            UsageLine(
                f"CloudFront: {_n(cdn.data_out_tb)} TB out ({_n(gb)} GB)",
                "CloudFront",
                "cloudfront",
                "data-out",
                gb,
            )
        )
    if cdn.https_requests:
        lines.append(
            UsageLine(
                f"CloudFront: {_n(cdn.https_requests)} HTTPS requests",
                "CloudFront",
                "cloudfront",
                "https-requests",
                Decimal(cdn.https_requests),
            )
        )
    net = profile.network
    if net.internet_out_tb:
        gb = net.internet_out_tb * GB_PER_TB
        lines.append(
            UsageLine(
                f"Data transfer out to the internet: {_n(net.internet_out_tb)} TB ({_n(gb)} GB)",
                "Data transfer",
                "data-transfer",
                "internet-out",
                gb,
            )
        )
    if net.load_balancers:
        n = net.load_balancers
        lines.append(UsageLine(f"ALB × {n}, {h} h", "Load balancing", "elb", "alb/hour", hours * n))
        if net.lcu_per_load_balancer:
            lcu_hours = hours * n * net.lcu_per_load_balancer
            lines.append(
                UsageLine(
                    f"ALB LCUs: {_n(net.lcu_per_load_balancer)} LCU × {n} × {h} h",
                    "Load balancing",
                    "elb",
                    "alb/lcu-hour",
                    lcu_hours,
                )
            )
    if net.nat_gateways:
        n = net.nat_gateways
        lines.append(
            UsageLine(f"NAT gateway × {n}, {h} h", "NAT gateway", "nat-gateway", "hour", hours * n)
        )
    if net.nat_processed_gb:
        lines.append(
            UsageLine(
                f"NAT gateway: {_n(net.nat_processed_gb)} GB processed",
                "NAT gateway",
                "nat-gateway",
                "data-processed",
                net.nat_processed_gb,
            )
        )
    if net.public_ipv4_addresses:
        n = net.public_ipv4_addresses
        lines.append(
            UsageLine(
                f"Public IPv4 addresses × {n}, {h} h",
                "Other",
                "public-ipv4",
                "address",
                hours * n,
            )
        )
    if net.interface_endpoint_azs:
        n = net.interface_endpoint_azs
        lines.append(
            UsageLine(
                f"Interface endpoints: {n} endpoint-AZs, {h} h",
                "Other",
                "vpc-endpoint",
                "interface/hour",
                hours * n,
            )
        )
    waf = profile.waf
    for count, sku, label in (
        (waf.web_acls, "web-acl", f"WAF web ACL × {waf.web_acls}"),
        (waf.rules, "rule", f"WAF rules × {waf.rules}"),
        (waf.requests, "requests", f"WAF requests: {_n(waf.requests)}"),
    ):
        if count:
            lines.append(UsageLine(label, "WAF", "waf", sku, Decimal(count)))
    mon = profile.monitoring
    for count, service, sku, label in (
        (mon.alarms, "cloudwatch", "alarm/standard", f"CloudWatch alarms × {mon.alarms}"),
        (mon.dashboards, "cloudwatch", "dashboard", f"CloudWatch dashboards × {mon.dashboards}"),
        (mon.secrets, "secretsmanager", "secret", f"Secrets Manager secrets × {mon.secrets}"),
        (
            mon.custom_metrics,
            "cloudwatch",
            "metric/custom",
            f"CloudWatch custom metrics × {mon.custom_metrics}",
        ),
        (mon.kms_keys, "kms", "key", f"KMS keys × {mon.kms_keys}"),
    ):
        if count:
            lines.append(UsageLine(label, "Monitoring & security", service, sku, Decimal(count)))
    if mon.log_ingest_gb:
        lines.append(
            UsageLine(
                f"CloudWatch Logs: {_n(mon.log_ingest_gb)} GB ingested",
                "Monitoring & security",
                "cloudwatch",
                "logs/ingest",
                mon.log_ingest_gb,
            )
        )
    for fn in profile.functions:
        lines.extend(
            lambda_usage(
                requests=fn.requests,
                duration_ms=fn.duration_ms,
                memory_mb=fn.memory_mb,
                name=fn.name,
            )
        )
    return lines
