"""A synthesized CloudFormation template (or a CDK ``cdk.out`` assembly) → resource inventory.

Every resource in the template gets exactly one finding: priced (with usage lines), free (no
standing charge) or unpriced (billable, but without a rule or a price here), never dropped.
References within the template (``Ref``, ``Fn::GetAtt``, parameter defaults) are resolved so an
Auto Scaling group finds its launch template's instance type the way CDK writes it.
Usage-driven charges (GB stored, TB out, requests, LCUs, NAT GB) come from :class:`Assumptions`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from cloudmall.cost.errors import TemplateError
from cloudmall.cost.estimate import (
    GB_PER_TB,
    HOURS_PER_MONTH_GUIDE,
    ResourceFinding,
    ResourceStatus,
    Unpriced,
    UsageLine,
    lambda_usage,
    plain_number,
)
from cloudmall.cost.extended_support import extended_support

_n = plain_number
EKS_DEFAULT_NODE_TYPE = "t3.medium"  # a managed node group's instance type when none is given
EKS_DEFAULT_DISK_GB = Decimal(20)
ALB_CONTROLLER_CHART = "aws-load-balancer-controller"
ONE_OFF_HOURS = Decimal(1)  # an instance that terminates on shutdown: one run a month


@dataclass(frozen=True)
class Assumptions:
    """Monthly usage a template cannot say. Totals are split evenly across matching resources."""

    hours_per_month: Decimal = HOURS_PER_MONTH_GUIDE
    s3_storage_gb: Decimal = Decimal(0)
    """S3 Standard GB stored, across all buckets."""
    cdn_out_tb: Decimal = Decimal(0)
    """CloudFront data out (1 TB = 1,000 GB), across all distributions."""
    internet_out_tb: Decimal = Decimal(0)
    """Data out to the internet from the region directly (not through CloudFront)."""
    requests: int = 0
    """HTTP requests a month: CloudFront HTTPS requests (split) and WAF requests (per web ACL)."""
    lcu_per_load_balancer: Decimal = Decimal(1)
    nat_processed_gb: Decimal = Decimal(0)
    """GB through NAT gateways, across all of them."""
    log_ingest_gb: Decimal = Decimal(0)
    """GB ingested into CloudWatch Logs, across all log groups."""
    db_storage_gb: Decimal = Decimal(0)
    """Aurora cluster storage per cluster, DynamoDB table size per table (RDS instances use
    their AllocatedStorage)."""
    lambda_requests: int = 0
    """Invocations a month per Lambda function."""
    lambda_duration_ms: Decimal = Decimal(100)
    snapstart_restores: int = 0
    """Containers resumed from a SnapStart snapshot a month, per function using SnapStart."""
    ecr_storage_gb: Decimal = Decimal(5)
    """Image storage per ECR repository: a ~0.5 GB image plus changed layers of the kept images."""
    codebuild_minutes: Decimal = Decimal(400)
    """Build minutes a month per CodeBuild project: two ~10-minute builds per working day."""
    pipeline_action_minutes: Decimal = Decimal(1200)
    """Action minutes a month per V2 pipeline: 40 executions of ~30 minutes of actions."""
    athena_scanned_gb: Decimal = Decimal(0)
    """GB scanned by Athena queries a month, across all workgroups (the lake's reports)."""
    glue_catalog_requests: int = 0
    """Glue Data Catalog requests a month, across all databases (Athena makes some per query)."""
    api_requests: int = 0
    """API Gateway HTTP API requests a month, across all HTTP APIs; the functions an API invokes
    share them evenly (a template holds no route mix) instead of taking `lambda_requests`."""
    dynamodb_reads_per_call: Decimal = Decimal(4)
    """Read request units per API call on an on-demand table: most calls are reads served from
    the functions' catalogue caches plus a consistent read or two (the account, an order: 1 unit
    each up to 4 KB); a cache miss queries the catalogue partition (~125+ units) now and then."""
    dynamodb_writes_per_call: Decimal = Decimal(2)
    """Write request units per API call: reads write nothing; an order is one transaction of
    (lines + 3) items at 2 units each (~10 units), a payment 4 items (8 units)."""
    on: date = field(default_factory=date.today)
    """The month priced: RDS Extended Support applies from the day a major version leaves
    standard support."""

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("hours per month", _n(self.hours_per_month)),
            ("S3 Standard storage (all buckets)", f"{_n(self.s3_storage_gb)} GB"),
            ("CloudFront data out (all distributions)", f"{_n(self.cdn_out_tb)} TB"),
            ("internet data out, not via CloudFront", f"{_n(self.internet_out_tb)} TB"),
            ("HTTP requests (CloudFront split; each WAF web ACL sees all)", _n(self.requests)),
            ("LCUs per load balancer", _n(self.lcu_per_load_balancer)),
            ("NAT gateway data processed (all)", f"{_n(self.nat_processed_gb)} GB"),
            ("CloudWatch Logs ingested (all log groups)", f"{_n(self.log_ingest_gb)} GB"),
            ("Aurora storage per cluster, DynamoDB per table", f"{_n(self.db_storage_gb)} GB"),
            (
                "Lambda invocations per function",
                f"{_n(self.lambda_requests)} × {_n(self.lambda_duration_ms)} ms",
            ),
            ("SnapStart restores per function", _n(self.snapstart_restores)),
            ("ECR image storage per repository", f"{_n(self.ecr_storage_gb)} GB"),
            ("CodeBuild minutes per project", _n(self.codebuild_minutes)),
            ("CodePipeline V2 action minutes per pipeline", _n(self.pipeline_action_minutes)),
            ("Athena data scanned (all workgroups)", f"{_n(self.athena_scanned_gb)} GB"),
            ("Glue Data Catalog requests (all databases)", _n(self.glue_catalog_requests)),
            ("HTTP API requests (shared by the functions behind it)", _n(self.api_requests)),
            (
                "DynamoDB request units per API call (on demand)",
                f"{_n(self.dynamodb_reads_per_call)} read, "
                f"{_n(self.dynamodb_writes_per_call)} write",
            ),
            ("priced as of", self.on.isoformat()),
        ]


@dataclass(frozen=True)
class LoadedTemplate:
    name: str
    path: Path
    body: Mapping[str, Any]


@dataclass
class TemplateInventory:
    """What the template holds and what it will cost to run, before prices are applied."""

    stack: str
    resources: list[ResourceFinding] = field(default_factory=list)
    usage: list[UsageLine] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts_by_type(self) -> Counter[str]:
        return Counter(finding.resource_type for finding in self.resources)


# ---------------------------------------------------------------------------------------------
# Loading: a template file (JSON or YAML with short-form tags) or a cdk.out cloud assembly.


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form tags (``!Ref``, ``!GetAtt`` ...)."""


def _construct_cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def _parse_template_file(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise TemplateError(f"template not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    try:
        body: object
        if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            body = json.loads(text)
        else:
            body = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TemplateError(f"cannot parse template {path}: {first_line}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        raise TemplateError(f"not a CloudFormation template: {path} has no 'Resources' mapping")
    return body


@dataclass(frozen=True)
class _StackArtifact:
    artifact_id: str
    stack_name: str
    display_name: str
    template: Path

    def matches(self, wanted: str) -> bool:
        names = {self.artifact_id, self.stack_name, self.display_name}
        names.add(self.display_name.rsplit("/", 1)[-1])
        return wanted in names


def _assembly_stacks(directory: Path) -> list[_StackArtifact]:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        return [
            _StackArtifact(p.name.removesuffix(".template.json"), "", "", p)
            for p in sorted(directory.glob("*.template.json"))
        ]
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read cloud assembly manifest {manifest_path}: {exc}") from exc
    artifacts = manifest.get("artifacts", {}) if isinstance(manifest, dict) else {}
    stacks: list[_StackArtifact] = []
    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "aws:cloudformation:stack" and "templateFile" in properties:
            stacks.append(
                _StackArtifact(
                    artifact_id,
                    str(properties.get("stackName", artifact_id)),
                    str(artifact.get("displayName", artifact_id)),
                    directory / str(properties["templateFile"]),
                )
            )
        elif artifact.get("type") == "cdk:cloud-assembly" and "directoryName" in properties:
            stacks.extend(_assembly_stacks(directory / str(properties["directoryName"])))
    return stacks


def _load_artifact(artifact: _StackArtifact) -> LoadedTemplate:
    name = artifact.stack_name or artifact.artifact_id
    return LoadedTemplate(name, artifact.template, _parse_template_file(artifact.template))


def load_templates(path: Path) -> list[LoadedTemplate]:
    """Every stack of a ``cdk.out`` directory, or the one template file ``path`` names."""
    if path.is_dir():
        stacks = _assembly_stacks(path)
        if not stacks:
            raise TemplateError(f"no CloudFormation stacks found in {path}")
        return [_load_artifact(artifact) for artifact in stacks]
    return [load_template(path)]


def load_template(path: Path, stack: str | None = None) -> LoadedTemplate:
    """Load a template file, or pick ``stack`` from a ``cdk.out`` directory."""
    if path.is_dir():
        stacks = _assembly_stacks(path)
        if not stacks:
            raise TemplateError(f"no CloudFormation stacks found in {path}")
        if stack is None:
            if len(stacks) > 1:
                names = ", ".join(s.display_name or s.artifact_id for s in stacks)
                raise TemplateError(
                    f"{path} holds several stacks ({names}): choose one with --stack"
                )
            chosen = stacks[0]
        else:
            matching = [s for s in stacks if s.matches(stack)]
            if not matching:
                names = ", ".join(s.display_name or s.artifact_id for s in stacks)
                raise TemplateError(f"no stack {stack!r} in {path}: it holds {names}")
            chosen = matching[0]
        return _load_artifact(chosen)
    if not path.exists():
        raise TemplateError(f"template not found: {path}")
    name = stack or path.name.removesuffix(".json").removesuffix(".template")
    return LoadedTemplate(name, path, _parse_template_file(path))


# ---------------------------------------------------------------------------------------------
# Reference resolution.


@dataclass(frozen=True)
class _Unresolved:
    """A value the template computes at deploy time (Fn::If, Fn::Select, imports...)."""

    what: str


class _Resolver:
    def __init__(self, body: Mapping[str, Any]) -> None:
        parameters = body.get("Parameters") or {}
        self.parameters: dict[str, Any] = parameters if isinstance(parameters, dict) else {}
        self.resources: dict[str, Any] = dict(body["Resources"])

    def resolve(self, value: Any) -> Any:
        """Literal values pass through; a Ref to a parameter becomes its default."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                if arg in self.parameters:
                    param = self.parameters[arg]
                    if isinstance(param, dict) and "Default" in param:
                        return param["Default"]
                    return _Unresolved(f"parameter {arg} (no default)")
                return _Unresolved(f"Ref {arg}")
            if key.startswith("Fn::"):
                return _Unresolved(key)
        return value

    def target(self, value: Any) -> str | None:
        """The logical id a ``Ref``/``Fn::GetAtt`` to a resource points at."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str) and arg in self.resources:
                return arg
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if isinstance(parts, list) and parts and parts[0] in self.resources:
                    return str(parts[0])
        return None

    def resource(self, logical_id: str) -> tuple[str, dict[str, Any]]:
        resource = self.resources[logical_id]
        return str(resource.get("Type", "")), dict(resource.get("Properties") or {})

    def text(self, value: Any) -> str | None:
        resolved = self.resolve(value)
        if isinstance(resolved, str | int | float | Decimal) and not isinstance(resolved, bool):
            return str(resolved)
        return None

    def number(self, value: Any) -> Decimal | None:
        text = self.text(value)
        if text is None:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None

    def flag(self, value: Any) -> bool | None:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return resolved
        if isinstance(resolved, str) and resolved.lower() in {"true", "false"}:
            return resolved.lower() == "true"
        return None


# ---------------------------------------------------------------------------------------------
# Per-type rules.


@dataclass
class _Outcome:
    status: ResourceStatus
    detail: str
    usage: list[UsageLine] = field(default_factory=list)


@dataclass
class _Context:
    resolver: _Resolver
    assumptions: Assumptions
    counts: Counter[str]

    @property
    def hours(self) -> Decimal:
        return self.assumptions.hours_per_month

    def share(self, total: Decimal, resource_type: str) -> Decimal:
        return total / self.counts[resource_type] if self.counts[resource_type] else Decimal(0)


_Rule = Callable[[_Context, str, str, dict[str, Any]], _Outcome]


def _line(
    logical_id: str,
    resource_type: str,
    component: str,
    category: str,
    service: str,
    sku: str,
    quantity: Decimal,
    note: str | None = None,
) -> UsageLine:
    return UsageLine(
        f"{component} ({logical_id})",
        category,
        service,
        sku,
        quantity,
        logical_id=logical_id,
        resource_type=resource_type,
        note=note,
    )


def _ebs_lines(
    ctx: _Context, logical_id: str, rtype: str, mappings: Any, count: int
) -> tuple[list[UsageLine], list[str]]:
    """Volumes from BlockDeviceMappings, per instance × ``count``."""
    lines: list[UsageLine] = []
    notes: list[str] = []
    if not isinstance(mappings, list) or not mappings:
        return lines, ["root volume size comes from the AMI: not priced"]
    for mapping in mappings:
        ebs = mapping.get("Ebs") if isinstance(mapping, dict) else None
        if not isinstance(ebs, dict):
            continue
        size = ctx.resolver.number(ebs.get("VolumeSize"))
        if size is None:
            notes.append("a volume without VolumeSize (AMI snapshot size): not priced")
            continue
        volume_type = ctx.resolver.text(ebs.get("VolumeType")) or "gp2"
        gb = size * count
        device = ctx.resolver.text(mapping.get("DeviceName")) or "volume"
        lines.append(
            _line(
                logical_id,
                rtype,
                f"EBS {volume_type} {_n(size)} GB × {count} ({device})",
                "EBS",
                "ebs",
                volume_type,
                gb,
            )
        )
    return lines, notes


def _launch_template_data(ctx: _Context, spec: Any) -> tuple[str | None, dict[str, Any]]:
    """(logical id, LaunchTemplateData) of a LaunchTemplate specification."""
    if not isinstance(spec, dict):
        return None, {}
    target = ctx.resolver.target(spec.get("LaunchTemplateId"))
    if target is None:
        wanted = ctx.resolver.text(spec.get("LaunchTemplateName"))
        target = ctx.resolver.target(spec.get("LaunchTemplateName"))
        if target is None and wanted is not None:
            for logical_id in ctx.resolver.resources:
                rtype, props = ctx.resolver.resource(logical_id)
                if (
                    rtype == "AWS::EC2::LaunchTemplate"
                    and props.get("LaunchTemplateName") == wanted
                ):
                    target = logical_id
                    break
    if target is None:
        return None, {}
    rtype, props = ctx.resolver.resource(target)
    if rtype != "AWS::EC2::LaunchTemplate":
        return None, {}
    data = props.get("LaunchTemplateData")
    return target, dict(data) if isinstance(data, dict) else {}


def _instances(
    ctx: _Context,
    logical_id: str,
    rtype: str,
    instance_type: str | None,
    count: int,
    mappings: Any,
    source: str,
    hours: Decimal | None = None,
) -> _Outcome:
    if instance_type is None:
        return _Outcome("unpriced", f"instance type not found ({source})")
    hours = ctx.hours if hours is None else hours
    lines = [
        _line(
            logical_id,
            rtype,
            f"EC2 {instance_type} × {count}, {_n(hours)} h",
            "EC2",
            "ec2",
            instance_type,
            hours * count,
        )
    ]
    ebs, notes = _ebs_lines(ctx, logical_id, rtype, mappings, count)
    if hours != ctx.hours:  # the volumes live as long as the instance
        ebs = [replace(line, quantity=line.quantity * hours / ctx.hours) for line in ebs]
    detail = "; ".join([f"{count} × {instance_type} ({source})", *notes])
    return _Outcome("priced", detail, lines + ebs)


def _auto_scaling_group(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    count_value = ctx.resolver.number(p.get("DesiredCapacity"))
    basis = "DesiredCapacity"
    if count_value is None:
        count_value, basis = ctx.resolver.number(p.get("MinSize")), "MinSize"
    count = int(count_value) if count_value is not None else 1
    if count_value is None:
        basis = "no DesiredCapacity or MinSize: 1 assumed"
    spec = p.get("LaunchTemplate")
    mixed = p.get("MixedInstancesPolicy")
    if spec is None and isinstance(mixed, dict):
        spec = (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")
    template_id, data = _launch_template_data(ctx, spec)
    if template_id is not None:
        instance_type = ctx.resolver.text(data.get("InstanceType"))
        source = f"{basis}; launch template {template_id}"
        return _instances(
            ctx, logical_id, rtype, instance_type, count, data.get("BlockDeviceMappings"), source
        )
    config = ctx.resolver.target(p.get("LaunchConfigurationName"))
    if config is not None:
        _, props = ctx.resolver.resource(config)
        instance_type = ctx.resolver.text(props.get("InstanceType"))
        source = f"{basis}; launch configuration {config}"
        return _instances(
            ctx, logical_id, rtype, instance_type, count, props.get("BlockDeviceMappings"), source
        )
    return _Outcome("unpriced", "launch template or configuration not found in the template")


def _ec2_instance(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    instance_type = ctx.resolver.text(p.get("InstanceType"))
    mappings = p.get("BlockDeviceMappings")
    source = "InstanceType"
    if instance_type is None and p.get("LaunchTemplate") is not None:
        template_id, data = _launch_template_data(ctx, p.get("LaunchTemplate"))
        instance_type = ctx.resolver.text(data.get("InstanceType"))
        mappings = mappings or data.get("BlockDeviceMappings")
        source = f"launch template {template_id}"
    shutdown = (ctx.resolver.text(p.get("InstanceInitiatedShutdownBehavior")) or "").lower()
    if shutdown == "terminate":
        # a one-off job (cloudmall's per-deployment migrator) that powers itself off
        source += f"; terminates itself when done: priced for {_n(ONE_OFF_HOURS)} h a month"
        return _instances(
            ctx, logical_id, rtype, instance_type, 1, mappings, source, hours=ONE_OFF_HOURS
        )
    return _instances(ctx, logical_id, rtype, instance_type, 1, mappings, source)


def _rds_instance(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    instance_class = ctx.resolver.text(p.get("DBInstanceClass"))
    engine = (ctx.resolver.text(p.get("Engine")) or "").lower()
    cluster = ctx.resolver.target(p.get("DBClusterIdentifier"))
    if not engine and cluster is not None:
        engine = (ctx.resolver.text(ctx.resolver.resource(cluster)[1].get("Engine")) or "").lower()
    if instance_class is None or not engine:
        return _Outcome("unpriced", "DBInstanceClass or Engine not found")
    if engine.startswith("aurora"):
        service = "rds.aurora-postgresql" if "postgres" in engine else "rds.aurora-mysql"
        line = _line(
            logical_id,
            rtype,
            f"Aurora {instance_class}, {_n(ctx.hours)} h",
            "RDS",
            service,
            instance_class,
            ctx.hours,
        )
        detail = f"Aurora instance {instance_class}" + (f" in cluster {cluster}" if cluster else "")
        return _Outcome("priced", detail, [line])
    priced_as = {"mariadb": "mysql"}.get(engine, engine)
    multi_az = bool(ctx.resolver.flag(p.get("MultiAZ")))
    az, az_label = ("multi-az", "Multi-AZ") if multi_az else ("single-az", "Single-AZ")
    note = "RDS for MariaDB is priced as MySQL" if priced_as != engine else None
    lines = [
        _line(
            logical_id,
            rtype,
            f"RDS {engine} {instance_class} {az_label}, {_n(ctx.hours)} h",
            "RDS",
            f"rds.{priced_as}",
            f"{instance_class}/{az}",
            ctx.hours,
            note,
        )
    ]
    support = extended_support(
        priced_as,
        ctx.resolver.text(p.get("EngineVersion")),
        instance_class,
        instances=2 if multi_az else 1,
        on=ctx.assumptions.on,
    )
    if support is not None:
        lines.append(
            _line(
                logical_id,
                rtype,
                f"RDS Extended Support {priced_as} {support.major} × {support.vcpus} vCPU, "
                f"{_n(ctx.hours)} h",
                "RDS",
                "rds.extended-support",
                f"{priced_as}/year-1-2",
                ctx.hours * support.vcpus,
                f"{priced_as} {support.major} left standard support on {support.since}",
            )
        )
    storage = ctx.resolver.number(p.get("AllocatedStorage"))
    storage_type = ctx.resolver.text(p.get("StorageType")) or "gp2"
    if storage:
        lines.append(
            _line(
                logical_id,
                rtype,
                f"RDS storage {storage_type} {_n(storage)} GB {az_label}",
                "RDS",
                "rds.storage",
                f"{storage_type}/{az}",
                storage,
            )
        )
    return _Outcome("priced", f"{engine} {instance_class} {az_label}", lines)


def _rds_cluster(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    engine = (ctx.resolver.text(p.get("Engine")) or "").lower()
    if not engine.startswith("aurora"):
        return _Outcome("unpriced", f"no pricing rule for {engine or 'non-Aurora'} DB clusters")
    service = "rds.aurora-postgresql-storage" if "postgres" in engine else "rds.aurora-storage"
    gb = ctx.assumptions.db_storage_gb
    line = _line(logical_id, rtype, f"Aurora storage {_n(gb)} GB", "RDS", service, "standard", gb)
    return _Outcome(
        "priced", "Aurora cluster storage (instances priced separately; I/O not modelled)", [line]
    )


def _cache_nodes(
    ctx: _Context, logical_id: str, rtype: str, node_type: str | None, engine: str, nodes: int
) -> _Outcome:
    if node_type is None:
        return _Outcome("unpriced", "CacheNodeType not found")
    line = _line(
        logical_id,
        rtype,
        f"ElastiCache {engine} {node_type} × {nodes}, {_n(ctx.hours)} h",
        "ElastiCache",
        f"elasticache.{engine}",
        node_type,
        ctx.hours * nodes,
    )
    return _Outcome("priced", f"{nodes} × {node_type} ({engine})", [line])


def _replication_group(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    node_type = ctx.resolver.text(p.get("CacheNodeType"))
    engine = (ctx.resolver.text(p.get("Engine")) or "redis").lower()
    clusters = ctx.resolver.number(p.get("NumCacheClusters"))
    if clusters is not None:
        nodes = int(clusters)
    elif isinstance(p.get("NodeGroupConfiguration"), list):
        nodes = sum(
            1 + int(ctx.resolver.number(group.get("ReplicaCount")) or 0)
            for group in p["NodeGroupConfiguration"]
            if isinstance(group, dict)
        )
    else:
        groups = int(ctx.resolver.number(p.get("NumNodeGroups")) or 1)
        replicas = int(ctx.resolver.number(p.get("ReplicasPerNodeGroup")) or 0)
        nodes = groups * (1 + replicas)
    return _cache_nodes(ctx, logical_id, rtype, node_type, engine, nodes)


def _cache_cluster(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    node_type = ctx.resolver.text(p.get("CacheNodeType"))
    engine = (ctx.resolver.text(p.get("Engine")) or "redis").lower()
    nodes = int(ctx.resolver.number(p.get("NumCacheNodes")) or 1)
    return _cache_nodes(ctx, logical_id, rtype, node_type, engine, nodes)


def _nat_gateway(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    gb = ctx.share(ctx.assumptions.nat_processed_gb, rtype)
    lines = [
        _line(
            logical_id,
            rtype,
            f"NAT gateway, {_n(ctx.hours)} h",
            "NAT gateway",
            "nat-gateway",
            "hour",
            ctx.hours,
        ),
        _line(
            logical_id,
            rtype,
            f"NAT gateway {_n(gb)} GB processed",
            "NAT gateway",
            "nat-gateway",
            "data-processed",
            gb,
        ),
    ]
    return _Outcome("priced", "hourly + per GB processed", lines)


def _load_balancer(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    kind = (ctx.resolver.text(p.get("Type")) or "application").lower()
    prefix = {"application": "alb", "network": "nlb"}.get(kind)
    if prefix is None:
        return _Outcome("unpriced", f"no pricing rule for {kind} load balancers")
    unit = "LCU" if prefix == "alb" else "NLCU"
    lcu = ctx.assumptions.lcu_per_load_balancer
    label = prefix.upper()
    lines = [
        _line(
            logical_id,
            rtype,
            f"{label}, {_n(ctx.hours)} h",
            "Load balancing",
            "elb",
            f"{prefix}/hour",
            ctx.hours,
        ),
        _line(
            logical_id,
            rtype,
            f"{label} {_n(lcu)} {unit} × {_n(ctx.hours)} h",
            "Load balancing",
            "elb",
            f"{prefix}/{unit.lower()}-hour",
            ctx.hours * lcu,
        ),
    ]
    detail = f"{kind} load balancer"
    scheme = (ctx.resolver.text(p.get("Scheme")) or "internet-facing").lower()
    if scheme == "internet-facing":
        subnets = p.get("Subnets") or p.get("SubnetMappings")
        addresses = len(subnets) if isinstance(subnets, list) else 2
        lines.append(
            _line(
                logical_id,
                rtype,
                f"{label} public IPv4 × {addresses}, {_n(ctx.hours)} h",
                "Load balancing",
                "public-ipv4",
                "address",
                ctx.hours * addresses,
            )
        )
        detail += f", internet-facing ({addresses} public IPv4 addresses, one per subnet)"
    return _Outcome("priced", detail, lines)


def _eks_nodegroup(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    """Managed nodes: the scaling configuration's desired size (else its minimum) of the first
    instance type, each with its DiskSize (EKS's default 20 GB; gp2 assumed)."""
    scaling = p.get("ScalingConfig") or {}
    count_value = ctx.resolver.number(scaling.get("DesiredSize"))
    basis = "DesiredSize"
    if count_value is None:
        count_value, basis = ctx.resolver.number(scaling.get("MinSize")), "MinSize"
    count = int(count_value) if count_value is not None else 1
    types = p.get("InstanceTypes")
    instance_type = ctx.resolver.text(types[0]) if isinstance(types, list) and types else None
    if instance_type is None and p.get("LaunchTemplate") is None:
        instance_type = EKS_DEFAULT_NODE_TYPE
        basis += f"; no InstanceTypes: EKS's default {EKS_DEFAULT_NODE_TYPE}"
    disk = ctx.resolver.number(p.get("DiskSize")) or EKS_DEFAULT_DISK_GB
    mappings = [{"DeviceName": "root", "Ebs": {"VolumeSize": disk, "VolumeType": "gp2"}}]
    return _instances(
        ctx, logical_id, rtype, instance_type, count, mappings, f"node group, {basis}"
    )


def _eks_helm_chart(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    """A Helm release (CDK's custom resource): free, except the AWS Load Balancer Controller's,
    which stands for the ALB it makes for the cluster's Ingress (one, internet-facing in two
    zones: the load balancer is not in the template)."""
    if ctx.resolver.text(p.get("Chart")) != ALB_CONTROLLER_CHART:
        return _Outcome("free", "a Helm release in the cluster (its pods use the nodes)")
    outcome = _load_balancer(ctx, logical_id, rtype, {"Type": "application"})
    outcome.detail = (
        "the ALB the load balancer controller makes for the cluster's Ingress (assumed one, "
        "internet-facing in 2 zones)"
    )
    return outcome


def _web_acl(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    rules = p.get("Rules")
    rule_count = len(rules) if isinstance(rules, list) else 0
    scope = ctx.resolver.text(p.get("Scope")) or "REGIONAL"
    requests = Decimal(ctx.assumptions.requests)
    lines = [
        _line(logical_id, rtype, "WAF web ACL", "WAF", "waf", "web-acl", Decimal(1)),
        _line(
            logical_id,
            rtype,
            f"WAF rules × {rule_count}",
            "WAF",
            "waf",
            "rule",
            Decimal(rule_count),
        ),
        _line(
            logical_id, rtype, f"WAF {_n(requests)} requests", "WAF", "waf", "requests", requests
        ),
    ]
    detail = f"{scope} web ACL with {rule_count} rules (managed rule groups count as one rule)"
    return _Outcome("priced", detail, lines)


def _distribution(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    gb = ctx.share(ctx.assumptions.cdn_out_tb * GB_PER_TB, rtype)
    requests = ctx.share(Decimal(ctx.assumptions.requests), rtype)
    lines = [
        _line(
            logical_id,
            rtype,
            f"CloudFront {_n(gb)} GB out",
            "CloudFront",
            "cloudfront",
            "data-out",
            gb,
        ),
        _line(
            logical_id,
            rtype,
            f"CloudFront {_n(requests)} HTTPS requests",
            "CloudFront",
            "cloudfront",
            "https-requests",
            requests,
        ),
    ]
    return _Outcome("priced", "data out + HTTPS requests", lines)


def _bucket(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    gb = ctx.share(ctx.assumptions.s3_storage_gb, rtype)
    line = _line(logical_id, rtype, f"S3 Standard {_n(gb)} GB stored", "S3", "s3", "standard", gb)
    return _Outcome(
        "priced", "Standard storage (requests and lifecycle moves not modelled)", [line]
    )


def _log_group(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    gb = ctx.share(ctx.assumptions.log_ingest_gb, rtype)
    line = _line(
        logical_id,
        rtype,
        f"CloudWatch Logs {_n(gb)} GB ingested",
        "Monitoring & security",
        "cloudwatch",
        "logs/ingest",
        gb,
    )
    return _Outcome("priced", "ingestion (archive storage not modelled)", [line])


def _dynamodb_table(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    """On demand: request units from the API's calls (split across tables), storage and, when
    on, point-in-time recovery of the same GB."""
    if ctx.resolver.text(p.get("BillingMode")) != "PAY_PER_REQUEST":
        return _Outcome("unpriced", "provisioned capacity is not modelled (on demand only)")
    calls = ctx.share(Decimal(ctx.assumptions.api_requests), rtype)
    reads = calls * ctx.assumptions.dynamodb_reads_per_call
    writes = calls * ctx.assumptions.dynamodb_writes_per_call
    gb = ctx.assumptions.db_storage_gb
    lines = [
        _line(
            logical_id,
            rtype,
            f"DynamoDB {_n(reads)} read units",
            "Database",
            "dynamodb",
            "on-demand/read",
            reads,
        ),
        _line(
            logical_id,
            rtype,
            f"DynamoDB {_n(writes)} write units",
            "Database",
            "dynamodb",
            "on-demand/write",
            writes,
        ),
        _line(logical_id, rtype, f"DynamoDB {gb} GB", "Database", "dynamodb", "storage", gb),
    ]
    recovery = ctx.resolver.resolve(p.get("PointInTimeRecoverySpecification")) or {}
    if ctx.resolver.flag(recovery.get("PointInTimeRecoveryEnabled")):
        lines.append(
            _line(logical_id, rtype, f"DynamoDB PITR {gb} GB", "Backup", "dynamodb", "pitr", gb)
        )
    detail = (
        f"on demand: {ctx.assumptions.dynamodb_reads_per_call} read and "
        f"{ctx.assumptions.dynamodb_writes_per_call} write units per API call"
    )
    return _Outcome("priced", detail, lines)


def _vpc_endpoint(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    kind = ctx.resolver.text(p.get("VpcEndpointType")) or "Gateway"
    if kind == "Gateway":
        return _Outcome("free", "gateway endpoint (S3/DynamoDB): no charge")
    if kind != "Interface":
        return _Outcome("unpriced", f"no pricing rule for {kind} endpoints")
    subnets = p.get("SubnetIds")
    zones = len(subnets) if isinstance(subnets, list) else 2
    line = _line(
        logical_id,
        rtype,
        f"interface endpoint × {zones} AZs, {_n(ctx.hours)} h",
        "Other",
        "vpc-endpoint",
        "interface/hour",
        ctx.hours * zones,
    )
    return _Outcome(
        "priced", f"interface endpoint in {zones} AZs (data processed not modelled)", [line]
    )


def _api_targets(ctx: _Context) -> set[str]:
    """The functions HTTP API integrations invoke (by logical id)."""
    targets = set()
    for resource in ctx.resolver.resources.values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::ApiGatewayV2::Integration":
            target = ctx.resolver.target((resource.get("Properties") or {}).get("IntegrationUri"))
            if target is not None:
                targets.add(_through_alias(ctx, target))
    return targets


_RATE = re.compile(r"rate\((\d+) (minute|hour|day)s?\)")
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


def _scheduled_targets(ctx: _Context) -> dict[str, Decimal]:
    """Invocations a month of the functions EventBridge rules invoke on a `rate(…)` schedule."""
    runs: dict[str, Decimal] = {}
    for resource in ctx.resolver.resources.values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Events::Rule":
            continue
        props = resource.get("Properties") or {}
        rate = _RATE.fullmatch(str(props.get("ScheduleExpression", "")))
        if rate is None:
            continue
        period = int(rate.group(1)) * _RATE_SECONDS[rate.group(2)]
        for target in props.get("Targets") or []:
            function = ctx.resolver.target(target.get("Arn"))
            if function is not None:
                function = _through_alias(ctx, function)
                runs[function] = runs.get(function, Decimal(0)) + ctx.hours * 3600 / period
    return runs


def _through_alias(ctx: _Context, logical_id: str) -> str:
    """The function a Lambda alias points at (an API may invoke a function through one)."""
    rtype, props = ctx.resolver.resource(logical_id)
    if rtype == "AWS::Lambda::Alias":
        return ctx.resolver.target(props.get("FunctionName")) or logical_id
    return logical_id


def _snapstart_lines(ctx: _Context, logical_id: str, rtype: str, memory_mb: int) -> list[UsageLine]:
    """SnapStart (Python): the live version's snapshot cached all month, and each restore."""
    gb = Decimal(memory_mb) / 1024
    cached = gb * ctx.assumptions.hours_per_month * 3600
    restored = gb * ctx.assumptions.snapstart_restores
    return [
        _line(
            logical_id,
            rtype,
            f"SnapStart cache ({_n(cached)} GB-s: {memory_mb} MB all month)",
            "Lambda",
            "lambda",
            "snapstart-cache",
            cached,
        ),
        _line(
            logical_id,
            rtype,
            f"SnapStart restores ({_n(ctx.assumptions.snapstart_restores)} × {memory_mb} MB)",
            "Lambda",
            "lambda",
            "snapstart-restore",
            restored,
        ),
    ]


def _lambda_function(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    memory = int(ctx.resolver.number(p.get("MemorySize")) or 128)
    arm = p.get("Architectures") == ["arm64"]
    behind_api = _api_targets(ctx)
    scheduled = _scheduled_targets(ctx)
    if logical_id in behind_api:
        requests = ctx.assumptions.api_requests // len(behind_api)
        source = f"1/{len(behind_api)} of the HTTP API's requests"
    elif logical_id in scheduled:
        requests = int(scheduled[logical_id])
        source = f"{_n(scheduled[logical_id])} scheduled runs (EventBridge rate)"
    else:
        requests, source = ctx.assumptions.lambda_requests, "usage from assumptions"
    lines = lambda_usage(
        requests=requests,
        duration_ms=ctx.assumptions.lambda_duration_ms,
        memory_mb=memory,
        name=f"Lambda {memory} MB{' arm64' if arm else ''}",
        logical_id=logical_id,
        resource_type=rtype,
        compute_sku="gb-second/arm64" if arm else "gb-second",
    )
    snap_start = (ctx.resolver.resolve(p.get("SnapStart")) or {}).get("ApplyOn")
    if snap_start == "PublishedVersions":
        lines += _snapstart_lines(ctx, logical_id, rtype, memory)
        source += ", SnapStart"
    return _Outcome("priced", f"{memory} MB{', arm64' if arm else ''}, {source}", lines)


def _http_api(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    if (ctx.resolver.text(p.get("ProtocolType")) or "HTTP") != "HTTP":
        return _Outcome("unpriced", "no pricing rule for WebSocket APIs")
    requests = ctx.share(Decimal(ctx.assumptions.api_requests), rtype)
    line = _line(
        logical_id,
        rtype,
        f"HTTP API {_n(requests)} requests",
        "API Gateway",
        "apigateway",
        "http-api/requests",
        requests,
    )
    return _Outcome("priced", "HTTP API requests (first 300M tier)", [line])


def _instance_vcpus(instance_class: str) -> int:
    """vCPUs of a db.* class from its size: up to large 2, xlarge 4, Nxlarge 4N."""
    size = instance_class.rsplit(".", 1)[-1]
    if size.endswith("xlarge"):
        multiple = size.removesuffix("xlarge")
        return 4 * (int(multiple) if multiple.isdigit() else 1)
    return 2


def _db_proxy(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    """RDS Proxy bills the vCPUs of the instances behind it (at least 2), every hour."""
    vcpus = 0
    for resource in ctx.resolver.resources.values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::RDS::DBProxyTargetGroup":
            continue
        props = resource.get("Properties") or {}
        if ctx.resolver.target(props.get("DBProxyName")) != logical_id:
            continue
        for instance in props.get("DBInstanceIdentifiers") or []:
            target = ctx.resolver.target(instance)
            if target is None:
                return _Outcome("unpriced", "a target instance outside the template")
            _, instance_props = ctx.resolver.resource(target)
            instance_class = ctx.resolver.text(instance_props.get("DBInstanceClass")) or ""
            vcpus += _instance_vcpus(instance_class)
    vcpus = max(vcpus, 2)
    line = _line(
        logical_id,
        rtype,
        f"RDS Proxy {vcpus} vCPUs, {_n(ctx.hours)} h",
        "Database",
        "rds-proxy",
        "vcpu-hour",
        ctx.hours * vcpus,
    )
    return _Outcome("priced", f"{vcpus} vCPUs of the instances behind it", [line])


def _fargate_task_size(ctx: _Context, task_definition: Any) -> tuple[Decimal, Decimal] | None:
    """(vCPU, GB) of a Fargate task definition: ``Cpu`` in CPU units, ``Memory`` in MiB."""
    target = ctx.resolver.target(task_definition)
    if target is None:
        return None
    rtype, props = ctx.resolver.resource(target)
    cpu, memory = ctx.resolver.number(props.get("Cpu")), ctx.resolver.number(props.get("Memory"))
    if rtype != "AWS::ECS::TaskDefinition" or cpu is None or memory is None:
        return None
    return cpu / 1024, memory / 1024


def _scaling_minimum(ctx: _Context, logical_id: str) -> Decimal | None:
    """MinCapacity of the Application Auto Scaling target whose resource is this service."""
    for resource in ctx.resolver.resources.values():
        if not isinstance(resource, dict):
            continue
        if resource.get("Type") != "AWS::ApplicationAutoScaling::ScalableTarget":
            continue
        props = resource.get("Properties") or {}
        if json.dumps(props.get("ResourceId")).count(f'"{logical_id}"'):
            return ctx.resolver.number(props.get("MinCapacity"))
    return None


def _ecs_service(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    """Fargate: vCPU-hours and GB-hours of the tasks that always run (the scaling minimum)."""
    if ctx.resolver.text(p.get("LaunchType")) not in {"FARGATE", None}:
        return _Outcome("unpriced", "EC2 launch type: priced through its container instances")
    size = _fargate_task_size(ctx, p.get("TaskDefinition"))
    if size is None:
        return _Outcome("unpriced", "task size (Cpu/Memory) not found in the task definition")
    vcpu, gb = size
    tasks = _scaling_minimum(ctx, logical_id)
    basis = "the scaling minimum"
    if tasks is None:
        tasks, basis = ctx.resolver.number(p.get("DesiredCount")) or Decimal(1), "DesiredCount"
    what = f"Fargate {_n(tasks)} task(s) × {_n(vcpu)} vCPU / {_n(gb)} GB, {_n(ctx.hours)} h"
    lines = [
        _line(
            logical_id,
            rtype,
            f"{what} (vCPU)",
            "Containers",
            "fargate",
            "vcpu-hour",
            tasks * vcpu * ctx.hours,
        ),
        _line(
            logical_id,
            rtype,
            f"{what} (memory)",
            "Containers",
            "fargate",
            "gb-hour",
            tasks * gb * ctx.hours,
        ),
    ]
    return _Outcome("priced", f"{_n(tasks)} task(s) ({basis}), Linux/x86", lines)


def _ecr_repository(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    gb = ctx.assumptions.ecr_storage_gb
    line = _line(
        logical_id, rtype, f"ECR storage {_n(gb)} GB", "Containers", "ecr", "storage-gb-month", gb
    )
    return _Outcome("priced", "image storage from assumptions (transfer in-region: free)", [line])


def _codebuild_project(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    environment = p.get("Environment") or {}
    compute = ctx.resolver.text(environment.get("ComputeType")) or "BUILD_GENERAL1_SMALL"
    minutes = ctx.assumptions.codebuild_minutes
    line = _line(
        logical_id,
        rtype,
        f"CodeBuild {compute} {_n(minutes)} min",
        "CI/CD",
        "codebuild",
        compute.lower(),
        minutes,
    )
    return _Outcome("priced", f"{compute}, minutes from assumptions", [line])


def _pipeline(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    if ctx.resolver.text(p.get("PipelineType")) == "V2":
        minutes = ctx.assumptions.pipeline_action_minutes
        line = _line(
            logical_id,
            rtype,
            f"CodePipeline V2 {_n(minutes)} action min",
            "CI/CD",
            "codepipeline",
            "v2-action-minute",
            minutes,
        )
        return _Outcome("priced", "V2: action execution minutes from assumptions", [line])
    line = _line(
        logical_id,
        rtype,
        "CodePipeline V1 active pipeline",
        "CI/CD",
        "codepipeline",
        "v1-active-pipeline",
        Decimal(1),
    )
    return _Outcome("priced", "V1: per active pipeline a month", [line])


def _athena_workgroup(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    gb = ctx.share(ctx.assumptions.athena_scanned_gb, rtype)
    line = _line(
        logical_id, rtype, f"Athena {_n(gb)} GB scanned", "Analytics", "athena", "scanned", gb
    )
    return _Outcome("priced", "data scanned by its queries (from assumptions)", [line])


def _glue_database(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    requests = ctx.share(Decimal(ctx.assumptions.glue_catalog_requests), rtype)
    lines = [
        _line(
            logical_id,
            rtype,
            "Glue catalog object",
            "Analytics",
            "glue",
            "catalog/objects",
            Decimal(1),
        ),
        _line(
            logical_id,
            rtype,
            f"Glue catalog {_n(requests)} requests",
            "Analytics",
            "glue",
            "catalog/requests",
            requests,
        ),
    ]
    return _Outcome("priced", "one catalog object, and the catalog's requests", lines)


def _flat(component: str, category: str, service: str, sku: str, detail: str) -> _Rule:
    def rule(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
        line = _line(logical_id, rtype, component, category, service, sku, Decimal(1))
        return _Outcome("priced", detail, [line])

    return rule


def _hourly(component: str, category: str, service: str, sku: str, detail: str) -> _Rule:
    def rule(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
        line = _line(
            logical_id, rtype, f"{component}, {_n(ctx.hours)} h", category, service, sku, ctx.hours
        )
        return _Outcome("priced", detail, [line])

    return rule


def _alarm(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    """Standard alarms are billed per metric: a metric-math alarm pays for each metric it reads."""
    metrics = p.get("Metrics")
    count = 1
    if isinstance(metrics, list):
        count = max(1, sum(1 for m in metrics if isinstance(m, dict) and "MetricStat" in m))
    line = _line(
        logical_id,
        rtype,
        f"CloudWatch alarm ({count} metric{'s' if count > 1 else ''})",
        "Monitoring & security",
        "cloudwatch",
        "alarm/standard",
        Decimal(count),
    )
    return _Outcome("priced", f"standard-resolution alarm on {count} metric(s)", [line])


def _ebs_volume(ctx: _Context, logical_id: str, rtype: str, p: dict[str, Any]) -> _Outcome:
    size = ctx.resolver.number(p.get("Size"))
    if size is None:
        return _Outcome("unpriced", "volume size comes from a snapshot: not known")
    volume_type = ctx.resolver.text(p.get("VolumeType")) or "gp2"
    line = _line(
        logical_id, rtype, f"EBS {volume_type} {_n(size)} GB", "EBS", "ebs", volume_type, size
    )
    return _Outcome("priced", f"{volume_type} {_n(size)} GB", [line])


RULES: dict[str, _Rule] = {
    "AWS::AutoScaling::AutoScalingGroup": _auto_scaling_group,
    "AWS::EC2::Instance": _ec2_instance,
    "AWS::EC2::Volume": _ebs_volume,
    "AWS::RDS::DBInstance": _rds_instance,
    "AWS::RDS::DBCluster": _rds_cluster,
    "AWS::ElastiCache::ReplicationGroup": _replication_group,
    "AWS::ElastiCache::CacheCluster": _cache_cluster,
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::WAFv2::WebACL": _web_acl,
    "AWS::CloudFront::Distribution": _distribution,
    "AWS::S3::Bucket": _bucket,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::ECS::Service": _ecs_service,
    "AWS::EKS::Cluster": _hourly(
        "EKS cluster (control plane)",
        "Containers",
        "eks",
        "cluster/standard-support",
        "per cluster-hour on a Kubernetes version in standard support",
    ),
    "AWS::EKS::Nodegroup": _eks_nodegroup,
    "Custom::AWSCDK-EKS-HelmChart": _eks_helm_chart,
    "AWS::ECR::Repository": _ecr_repository,
    "AWS::CodeBuild::Project": _codebuild_project,
    "AWS::CodePipeline::Pipeline": _pipeline,
    "AWS::Athena::WorkGroup": _athena_workgroup,
    "AWS::Glue::Database": _glue_database,
    "AWS::Glue::Table": _flat(
        "Glue catalog object (table)",
        "Analytics",
        "glue",
        "catalog/objects",
        "one catalog object (partition projection stores no partitions)",
    ),
    "AWS::ApiGatewayV2::Api": _http_api,
    "AWS::RDS::DBProxy": _db_proxy,
    "AWS::EC2::EIP": _hourly(
        "Elastic IP (public IPv4)",
        "Other",
        "public-ipv4",
        "address",
        "public IPv4 address, charged hourly in use or idle",
    ),
    "AWS::SecretsManager::Secret": _flat(
        "Secrets Manager secret",
        "Monitoring & security",
        "secretsmanager",
        "secret",
        "per secret-month (API calls not modelled)",
    ),
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::CompositeAlarm": _flat(
        "CloudWatch composite alarm",
        "Monitoring & security",
        "cloudwatch",
        "alarm/composite",
        "composite alarm",
    ),
    "AWS::CloudWatch::Dashboard": _flat(
        "CloudWatch dashboard",
        "Monitoring & security",
        "cloudwatch",
        "dashboard",
        "per dashboard-month (the account's first 3 are free; not applied)",
    ),
    "AWS::Logs::MetricFilter": _flat(
        "CloudWatch custom metric (log metric filter)",
        "Monitoring & security",
        "cloudwatch",
        "metric/custom",
        "the filter publishes one custom metric (the account's first 10 are free; not applied)",
    ),
    "AWS::KMS::Key": _flat(
        "KMS key",
        "Monitoring & security",
        "kms",
        "key",
        "customer managed key (requests not modelled)",
    ),
}

FREE: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK metadata, not a billable resource",
    "AWS::EC2::VPC": "no charge for the VPC itself",
    "AWS::EC2::Subnet": "no charge",
    "AWS::EC2::RouteTable": "no charge",
    "AWS::EC2::Route": "no charge",
    "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::InternetGateway": "no charge (data transfer is priced separately)",
    "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EC2::SecurityGroup": "no charge",
    "AWS::EC2::SecurityGroupIngress": "no charge",
    "AWS::EC2::SecurityGroupEgress": "no charge",
    "AWS::EC2::NetworkAcl": "no charge",
    "AWS::EC2::NetworkAclEntry": "no charge",
    "AWS::EC2::SubnetNetworkAclAssociation": "no charge",
    "AWS::EC2::LaunchTemplate": "configuration only: priced through the instances that use it",
    "AWS::AutoScaling::LaunchConfiguration": "configuration only: priced through its group",
    "AWS::AutoScaling::ScalingPolicy": "no charge",
    "AWS::AutoScaling::ScheduledAction": "no charge",
    "AWS::AutoScaling::LifecycleHook": "no charge",
    "AWS::ApplicationAutoScaling::ScalableTarget": "no charge",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "no charge",
    "AWS::EC2::FlowLog": "charged as log ingestion in its destination log group",
    "AWS::IAM::Role": "no charge",
    "AWS::IAM::Policy": "no charge",
    "AWS::IAM::ManagedPolicy": "no charge",
    "AWS::IAM::InstanceProfile": "no charge",
    "AWS::IAM::OIDCProvider": "no charge",
    "AWS::ElasticLoadBalancingV2::Listener": "no charge (priced through its load balancer)",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "no charge (priced through LCUs)",
    "AWS::ElasticLoadBalancingV2::ListenerCertificate": "no charge",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "no charge",
    "AWS::RDS::DBSubnetGroup": "no charge",
    "AWS::RDS::DBParameterGroup": "no charge",
    "AWS::RDS::DBClusterParameterGroup": "no charge",
    "AWS::RDS::OptionGroup": "no charge",
    "AWS::ElastiCache::SubnetGroup": "no charge",
    "AWS::ElastiCache::ParameterGroup": "no charge",
    "AWS::SecretsManager::SecretTargetAttachment": "no charge",
    "AWS::SecretsManager::RotationSchedule": "no charge (the rotation Lambda is priced as Lambda)",
    "AWS::SNS::Topic": "no standing charge; publishes/deliveries are usage-based (1M free a month)",
    "AWS::SNS::Subscription": "no charge",
    "AWS::SNS::TopicPolicy": "no charge",
    "AWS::S3::BucketPolicy": "no charge",
    "AWS::CloudFront::OriginAccessControl": "no charge",
    "AWS::CloudFront::CloudFrontOriginAccessIdentity": "no charge",
    "AWS::CloudFront::CachePolicy": "no charge",
    "AWS::CloudFront::OriginRequestPolicy": "no charge",
    "AWS::CloudFront::ResponseHeadersPolicy": "no charge",
    "AWS::WAFv2::WebACLAssociation": "no charge",
    "AWS::WAFv2::RuleGroup": "charged as a rule of the web ACL that uses it",
    "AWS::WAFv2::IPSet": "no charge",
    "AWS::Backup::BackupVault": "no standing charge (backup storage is usage-based)",
    "AWS::Backup::BackupSelection": "no charge",
    "AWS::Lambda::Permission": "no charge",
    "AWS::Lambda::EventSourceMapping": "no charge",
    "AWS::Lambda::Version": "no charge",
    "AWS::Lambda::Alias": "no charge",
    "AWS::ApiGatewayV2::Stage": "no charge (priced through its API's requests)",
    "AWS::ApiGatewayV2::Route": "no charge",
    "AWS::ApiGatewayV2::Integration": "no charge",
    "AWS::RDS::DBProxyTargetGroup": "no charge (priced through its proxy)",
    "AWS::KMS::Alias": "no charge",
    "AWS::SSM::Parameter": "standard parameters: no charge",
    "AWS::CertificateManager::Certificate": "public certificates: no charge",
    "AWS::Athena::NamedQuery": "no charge (a query is billed by the data it scans)",
    "AWS::Events::Rule": "scheduled rules and rules on AWS service events: no charge",
    "AWS::Scheduler::Schedule": (
        "14 million invocations a month free, then $1.00 per million (every 5 minutes is "
        "8,640 a month); the Fargate tasks it starts are not priced"
    ),
    "AWS::Lambda::LayerVersion": "no charge (counts against the account's Lambda code storage)",
    "AWS::EC2::EIPAssociation": "no charge (the address is priced as its AWS::EC2::EIP)",
    "AWS::EC2::VolumeAttachment": "no charge (the volume is priced as its AWS::EC2::Volume)",
    "AWS::Backup::BackupPlan": (
        "no standing charge: the snapshots it takes are billed as backup storage by GB-month "
        "(usage-based, not modelled; RDS includes backup storage up to the database's size)"
    ),
    "AWS::Route53::RecordSet": (
        "no standing charge: queries are billed per million to the hosted zone (usage-based, "
        "not modelled; the zone itself is not in this template)"
    ),
    "AWS::ECS::Cluster": "no charge (Fargate tasks are priced through their service)",
    "AWS::ECS::ClusterCapacityProviderAssociations": "no charge",
    "AWS::ECS::TaskDefinition": "configuration only: priced through the service that runs it",
    "AWS::EKS::Addon": "no charge (its pods run on the cluster's nodes)",
    "AWS::EKS::AccessEntry": "no charge",
    "AWS::EKS::PodIdentityAssociation": "no charge",
    "AWS::CodeStarNotifications::NotificationRule": "no charge (SNS deliveries are usage-based)",
    "AWS::Backup::RestoreTestingSelection": "no charge (the plan's restore jobs are usage-based)",
    "AWS::Config::DeliveryChannel": "no charge (what it delivers is priced as S3 storage)",
    "AWS::CloudTrail::Trail": (
        "the account's first copy of management events: no charge (its S3 storage and "
        "CloudWatch Logs ingestion are priced there)"
    ),
    "AWS::Backup::RestoreTestingPlan": (
        "no standing charge: each restore test job and the temporary database's hours are "
        "billed per use (usage-based, not modelled)"
    ),
    "AWS::GuardDuty::Detector": (
        "no standing charge: billed per event and GB of logs analysed (usage-based, not modelled)"
    ),
    "AWS::Config::ConfigurationRecorder": (
        "no standing charge: billed per configuration item recorded (usage-based, not modelled)"
    ),
    "AWS::Config::ConfigRule": (
        "no standing charge: billed per rule evaluation (usage-based, not modelled)"
    ),
}

UNPRICED: dict[str, str] = {
    "AWS::Route53::HostedZone": "no price in the book ($0.50 per hosted zone-month)",
}


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == (
        "AWS::CloudFormation::CustomResource"
    )


def template_inventory(loaded: LoadedTemplate, assumptions: Assumptions) -> TemplateInventory:
    """One finding per resource, and the usage lines of the billable ones."""
    resolver = _Resolver(loaded.body)
    counts: Counter[str] = Counter(
        str(resource.get("Type", "")) if isinstance(resource, dict) else ""
        for resource in resolver.resources.values()
    )
    ctx = _Context(resolver, assumptions, counts)
    inventory = TemplateInventory(stack=loaded.name)
    for logical_id, resource in resolver.resources.items():
        if not isinstance(resource, dict) or not resource.get("Type"):
            raise TemplateError(f"resource {logical_id} in {loaded.path} has no Type")
        rtype = str(resource["Type"])
        props = resource.get("Properties") or {}
        rule = RULES.get(rtype)
        if rule is not None:
            outcome = rule(ctx, logical_id, rtype, dict(props) if isinstance(props, dict) else {})
        elif rtype in FREE:
            outcome = _Outcome("free", FREE[rtype])
        elif _is_custom(rtype):
            outcome = _Outcome("free", "custom resource (its backing Lambda runs at deploy time)")
        elif rtype in UNPRICED:
            outcome = _Outcome("unpriced", UNPRICED[rtype])
        else:
            outcome = _Outcome("unpriced", "no pricing rule for this resource type")
        if "Condition" in resource:
            outcome.detail += f"; conditional on {resource['Condition']} (counted as deployed)"
        inventory.resources.append(
            ResourceFinding(logical_id, rtype, outcome.status, outcome.detail)
        )
        inventory.usage.extend(outcome.usage)
        if outcome.status == "unpriced":
            inventory.unpriced.append(Unpriced(logical_id, outcome.detail, logical_id, rtype))
    gb = assumptions.internet_out_tb * GB_PER_TB
    inventory.usage.append(
        UsageLine(
            f"Data transfer out to the internet, not via CloudFront ({_n(gb)} GB)",
            "Data transfer",
            "data-transfer",
            "internet-out",
            gb,
        )
    )
    return inventory
