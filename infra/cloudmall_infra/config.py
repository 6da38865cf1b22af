"""Deployment settings read from CDK context, with offline-friendly defaults.

Every value can be given with ``-c key=value`` on the CDK CLI, in ``cdk.json``'s ``context``, or
with ``App(context=...)`` (what the tests do). Defaults let ``make synth`` run with no AWS
credentials: a placeholder account, explicit availability zones (no lookups) and a placeholder
certificate ARN that a real deployment must replace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from constructs import Construct

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "ap-northeast-2"
PLACEHOLDER_CERTIFICATE_ARN = (
    "arn:aws:acm:{region}:{account}:certificate/00000000-0000-0000-0000-000000000000"
)
DATABASE_ENGINES = ("mysql", "aurora-mysql")
DEFAULT_DB_INSTANCE_TYPES = {"mysql": "t3.small", "aurora-mysql": "t4g.medium"}
# What Aurora MySQL 3 offers (provisioned): burstable classes from medium up, memory-optimised
# ones from large up. db.t3.small and db.t3.micro exist for RDS MySQL but not for Aurora MySQL 3.
AURORA_BURSTABLE = {"t3": ("medium", "large"), "t4g": ("medium", "large")}
AURORA_MEMORY_FAMILIES = ("r5", "r6g", "r6i", "r7g", "r7i", "r8g", "x2g")
# RDS MySQL 8.4 dropped the previous-generation classes.
MYSQL_84_RETIRED_FAMILIES = ("t2", "m4", "r4", "m3", "r3")


def check_db_instance_type(engine: str, instance_type: str) -> None:
    """Refuse, at synth, a class the engine does not offer (CloudFormation would fail later)."""
    family, _, size = instance_type.removeprefix("db.").partition(".")
    if not size:
        raise ValueError(f"db_instance_type: {instance_type!r} is not FAMILY.SIZE (t4g.medium)")
    if engine == "aurora-mysql":
        offered = (family in AURORA_BURSTABLE and size in AURORA_BURSTABLE[family]) or (
            family in AURORA_MEMORY_FAMILIES and size not in ("micro", "small", "medium")
        )
        if not offered:
            raise ValueError(
                f"db_instance_type: Aurora MySQL 3 does not offer db.{family}.{size}; use "
                "t4g.medium or t3.medium (burstable) or r6g.large and up (memory-optimised)"
            )
    elif family in MYSQL_84_RETIRED_FAMILIES:
        raise ValueError(
            f"db_instance_type: RDS MySQL 8.4 does not offer the previous-generation "
            f"db.{family}.{size}; use t3/t4g/m5+/r5+ classes"
        )


def _context(scope: Construct, key: str, default: Any = None) -> Any:
    value = scope.node.try_get_context(key)
    return default if value is None or value == "" else value


def _as_list(value: Any) -> list[str]:
    """Context from the CLI arrives as a string: accept JSON lists and comma-separated text."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        return [str(v) for v in json.loads(text)]
    return [part.strip() for part in text.split(",") if part.strip()]


def _serverless_database(value: Any) -> str:
    choice = str(value).strip().lower()
    if choice not in ("rds", "dynamodb"):
        raise ValueError(f"-c database is rds or dynamodb, not {value!r}")
    return choice


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class DeploymentConfig:
    """What the stacks need to know about the target account and the operator's choices."""

    account: str
    region: str
    availability_zones: list[str]
    environment: str
    certificate_arn: str
    alarm_email: str | None
    database_engine: str
    app_instance_type: str
    db_instance_type: str
    cache_node_type: str
    cdn_domain_name: str | None
    cdn_certificate_arn: str | None
    cors_origins: list[str]
    single_server_instance_type: str
    domain_name: str | None
    hosted_zone_id: str | None
    hosted_zone_name: str | None
    single_server_ingress_cidr: str
    single_server_ami: str | None = None  # pin the event site's AMI (ami-...)
    internal_alb: bool = False  # the guide's intranet pattern: no internet-facing entrance
    intranet_cidr: str | None = None  # who may reach an internal ALB (default: the VPC)
    # DNS names an operator points at a load balancer clients reach directly (ContainerShop,
    # the intranet ALB): the app answers them besides the ALB's own name
    alb_domain_names: tuple[str, ...] = ()
    # Lambda SnapStart on the serverless functions (cold starts resume an initialized snapshot);
    # `-c snap_start=false` where a region does not offer it for Python
    snap_start: bool = True
    # The serverless stack's database: "rds" (RDS MySQL behind RDS Proxy) or "dynamodb" (one
    # on-demand table: docs/dynamodb.md); `-c database=dynamodb`
    serverless_database: str = "rds"

    @property
    def certificate_is_placeholder(self) -> bool:
        return self.certificate_arn.endswith("/00000000-0000-0000-0000-000000000000")

    @property
    def is_aurora(self) -> bool:
        return self.database_engine == "aurora-mysql"

    @classmethod
    def from_context(cls, scope: Construct) -> DeploymentConfig:
        account = str(_context(scope, "account", DEFAULT_ACCOUNT))
        region = str(_context(scope, "region", DEFAULT_REGION))
        azs = _as_list(_context(scope, "availability_zones", [f"{region}a", f"{region}c"]))
        if len(azs) < 2:
            raise ValueError("availability_zones: the 3-tier stack needs at least two zones")
        engine = str(_context(scope, "database_engine", "mysql")).lower()
        if _as_bool(_context(scope, "aurora", False)):
            engine = "aurora-mysql"
        if engine not in DATABASE_ENGINES:
            raise ValueError(f"database_engine must be one of {DATABASE_ENGINES}, not {engine!r}")
        db_instance_type = str(
            _context(scope, "db_instance_type", DEFAULT_DB_INSTANCE_TYPES[engine])
        ).removeprefix("db.")
        check_db_instance_type(engine, db_instance_type)
        cdn_domain = _context(scope, "cdn_domain_name")
        cdn_cert = _context(scope, "cdn_certificate_arn")
        if bool(cdn_domain) != bool(cdn_cert):
            raise ValueError("cdn_domain_name and cdn_certificate_arn go together (or neither)")
        if cdn_cert and ":us-east-1:" not in str(cdn_cert):
            raise ValueError("cdn_certificate_arn: CloudFront only accepts ACM certs in us-east-1")
        domain_name = _context(scope, "domain_name")
        hosted_zone_id = _context(scope, "hosted_zone_id")
        if bool(domain_name) != bool(hosted_zone_id):
            raise ValueError("domain_name and hosted_zone_id go together (or neither)")
        cors = _context(scope, "cors_origins")
        return cls(
            account=account,
            region=region,
            availability_zones=azs,
            environment=str(_context(scope, "environment", "production")),
            certificate_arn=str(
                _context(
                    scope,
                    "certificate_arn",
                    PLACEHOLDER_CERTIFICATE_ARN.format(region=region, account=account),
                )
            ),
            alarm_email=_context(scope, "alarm_email"),
            database_engine=engine,
            app_instance_type=str(_context(scope, "app_instance_type", "t3.medium")),
            db_instance_type=db_instance_type,
            cache_node_type=str(_context(scope, "cache_node_type", "cache.t3.micro")),
            cdn_domain_name=cdn_domain,
            cdn_certificate_arn=cdn_cert,
            cors_origins=_as_list(cors) if cors else [],
            single_server_instance_type=str(
                _context(scope, "single_server_instance_type", "t3.small")
            ),
            domain_name=domain_name,
            hosted_zone_id=hosted_zone_id,
            hosted_zone_name=_context(scope, "hosted_zone_name"),
            single_server_ingress_cidr=str(
                _context(scope, "single_server_ingress_cidr", "0.0.0.0/0")
            ),
            single_server_ami=_context(scope, "single_server_ami"),
            internal_alb=_as_bool(_context(scope, "internal_alb", False)),
            intranet_cidr=_context(scope, "intranet_cidr"),
            alb_domain_names=tuple(_as_list(_context(scope, "alb_domain_names") or [])),
            snap_start=_as_bool(_context(scope, "snap_start", True)),
            serverless_database=_serverless_database(_context(scope, "database", "rds")),
        )
