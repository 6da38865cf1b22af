"""Network checks: workloads in private subnets, security groups, WAF in front of entry points."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cloudmall.audit.model import Outcome, Problem
from cloudmall.audit.stack import StackTemplate, as_list, is_true, target

WORLD = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {80, 443}
"""The only ports a security group may open to the whole internet: a public web entry point."""


# ---------------------------------------------------------------------------------------------
# Private subnets


def _public_subnets(stack: StackTemplate) -> set[str]:
    """Subnets whose route table routes to an internet gateway, or that map public IPs."""
    gateways = {lid for lid, _ in stack.of_type("AWS::EC2::InternetGateway")}
    public_tables = {
        target(p.get("RouteTableId"))
        for _, p in stack.of_type("AWS::EC2::Route")
        if target(p.get("GatewayId")) in gateways
    }
    public = {
        str(target(p.get("SubnetId")))
        for _, p in stack.of_type("AWS::EC2::SubnetRouteTableAssociation")
        if target(p.get("RouteTableId")) in public_tables
    }
    public |= {
        lid for lid, p in stack.of_type("AWS::EC2::Subnet") if is_true(p.get("MapPublicIpOnLaunch"))
    }
    return public


def _subnet_group(stack: StackTemplate, value: Any, group_type: str) -> list[Any]:
    lid = target(value)
    if lid is None or stack.type_of(lid) != group_type:
        return []
    return as_list(stack.properties(lid).get("SubnetIds"))


def _workloads(stack: StackTemplate) -> Iterator[tuple[str, str, list[Any]]]:
    """``(logical id, what, subnet references)`` of everything that runs or stores in a VPC."""
    for lid, p in stack.of_type("AWS::EC2::Instance"):
        subnets = as_list(p.get("SubnetId"))
        subnets += [ni.get("SubnetId") for ni in as_list(p.get("NetworkInterfaces"))]
        yield lid, "instance", subnets
    for lid, p in stack.of_type("AWS::AutoScaling::AutoScalingGroup"):
        yield lid, "Auto Scaling group", as_list(p.get("VPCZoneIdentifier"))
    for lid, p in stack.of_type("AWS::RDS::DBInstance"):
        if "DBClusterIdentifier" not in p:
            subnets = _subnet_group(stack, p.get("DBSubnetGroupName"), "AWS::RDS::DBSubnetGroup")
            yield lid, "database", subnets
    for lid, p in stack.of_type("AWS::RDS::DBCluster"):
        subnets = _subnet_group(stack, p.get("DBSubnetGroupName"), "AWS::RDS::DBSubnetGroup")
        yield lid, "database cluster", subnets
    for lid, p in stack.of_type(
        "AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster"
    ):
        subnets = _subnet_group(
            stack, p.get("CacheSubnetGroupName"), "AWS::ElastiCache::SubnetGroup"
        )
        yield lid, "cache", subnets
    for lid, p in stack.of_type("AWS::Lambda::Function"):
        vpc = p.get("VpcConfig")
        if isinstance(vpc, Mapping):
            yield lid, "VPC function", as_list(vpc.get("SubnetIds"))


def private_subnets(stack: StackTemplate) -> Outcome:
    """Instances, databases and caches live in subnets with no route from the internet."""
    public = _public_subnets(stack)
    with_public_ip = {
        str(target(p.get("InstanceId"))) for _, p in stack.of_type("AWS::EC2::EIPAssociation")
    }
    evidence: list[str] = []
    problems: list[Problem] = []
    for lid, what, subnets in _workloads(stack):
        label = stack.label(lid)
        if not subnets:
            problems.append(Problem(label, "subnet-unknown", f"{what} with no subnet in the stack"))
            continue
        in_public = [str(target(s)) for s in subnets if target(s) in public]
        unknown = [s for s in subnets if target(s) is None or stack.type_of(target(s)) is None]
        if in_public:
            problems.append(
                Problem(label, "public-subnet", f"{what} in public subnet {', '.join(in_public)}")
            )
        elif unknown:
            problems.append(
                Problem(label, "subnet-unknown", f"{what} in subnets outside the stack: unknown")
            )
        elif lid in with_public_ip:
            problems.append(Problem(label, "public-ip", f"{what} has an Elastic IP"))
        else:
            evidence.append(label)
    for lid, p in stack.of_type("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
        if is_true(p.get("PubliclyAccessible")):
            problems.append(Problem(stack.label(lid), "public-database", "publicly accessible"))
    if not evidence and not problems:
        return Outcome(not_applicable="no instances, databases or caches in a VPC")
    return Outcome(tuple(evidence), tuple(problems))


# ---------------------------------------------------------------------------------------------
# Security groups


def _ingress_rules(stack: StackTemplate) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(security group logical id, rule)`` for inline and standalone ingress rules."""
    for lid, p in stack.of_type("AWS::EC2::SecurityGroup"):
        for rule in as_list(p.get("SecurityGroupIngress")):
            if isinstance(rule, Mapping):
                yield lid, rule
    for lid, p in stack.of_type("AWS::EC2::SecurityGroupIngress"):
        yield str(target(p.get("GroupId")) or lid), p


def _ports(rule: Mapping[str, Any]) -> tuple[int, int] | None:
    """The rule's port range; None for every protocol and port (``IpProtocol: -1``)."""
    if str(rule.get("IpProtocol")) in {"-1", "all"}:
        return None
    try:
        return int(rule.get("FromPort", 0)), int(rule.get("ToPort", 65535))
    except (TypeError, ValueError):
        return None


def _to_world(source: Any) -> bool:
    """A literal 0.0.0.0/0 or ::/0 (a CIDR computed by the template, e.g. the VPC's, is not)."""
    return isinstance(source, str) and source in WORLD


def world_open_ports(stack: StackTemplate, group: str) -> set[int]:
    """The single ports ``group`` opens to the whole internet."""
    ports: set[int] = set()
    for lid, rule in _ingress_rules(stack):
        if lid == group and (_to_world(rule.get("CidrIp")) or _to_world(rule.get("CidrIpv6"))):
            span = _ports(rule)
            if span is not None and span[0] == span[1]:
                ports.add(span[0])
    return ports


def security_groups(stack: StackTemplate) -> Outcome:
    """No security group opens more than the web ports to the internet, nor all ports to anyone."""
    groups = [lid for lid, _ in stack.of_type("AWS::EC2::SecurityGroup")]
    if not groups:
        return Outcome(not_applicable="no security groups")
    bad: dict[str, list[str]] = {}
    for lid, rule in _ingress_rules(stack):
        source = rule.get("CidrIp") or rule.get("CidrIpv6")
        span = _ports(rule)
        described = (
            "all ports"
            if span is None
            else (f"port {span[0]}" if span[0] == span[1] else f"ports {span[0]}-{span[1]}")
        )
        if _to_world(source) and (span is None or span[0] != span[1] or span[0] not in WEB_PORTS):
            bad.setdefault(lid, []).append(f"{described} open to {source}")
        elif source and (span is None or (span[0] == 0 and span[1] == 65535)):
            bad.setdefault(lid, []).append(f"all ports open to {source}")
    problems = tuple(
        Problem(stack.label(lid), "open-ingress", "; ".join(messages))
        for lid, messages in bad.items()
    )
    evidence = tuple(stack.label(lid) for lid in groups if lid not in bad)
    return Outcome(evidence, problems)


# ---------------------------------------------------------------------------------------------
# WAF


def _protected(stack: StackTemplate) -> set[str]:
    return {
        str(target(p.get("ResourceArn")))
        for _, p in stack.of_type("AWS::WAFv2::WebACLAssociation")
        if target(p.get("ResourceArn"))
    }


def _custom_origins(distribution: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Origins that are not S3 buckets: they reach application code."""
    config = distribution.get("DistributionConfig") or {}
    return [o for o in as_list(config.get("Origins")) if "CustomOriginConfig" in o]


def _distribution_acl(stack: StackTemplate, p: Mapping[str, Any], protected: set[str]) -> bool:
    """A web ACL on the distribution, or on every load balancer it forwards to (the same
    requests pass the load balancer's ACL)."""
    if (p.get("DistributionConfig") or {}).get("WebACLId"):
        return True
    origins = [target(o.get("DomainName")) for o in _custom_origins(p)]
    return all(
        origin in protected and stack.type_of(origin) == "AWS::ElasticLoadBalancingV2::LoadBalancer"
        for origin in origins
    )


def waf(stack: StackTemplate) -> Outcome:
    """Every internet-facing load balancer, API and application distribution has a web ACL."""
    protected = _protected(stack)
    evidence: list[str] = []
    problems: list[Problem] = []
    entry_points: list[tuple[str, bool]] = []
    for lid, p in stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        if (
            p.get("Scheme", "internet-facing") == "internet-facing"
            and p.get("Type", "application") == "application"
        ):
            entry_points.append((lid, lid in protected))
    for lid, _ in stack.of_type("AWS::ApiGateway::Stage", "AWS::AppSync::GraphQLApi"):
        entry_points.append((lid, lid in protected))
    for lid, p in stack.of_type("AWS::CloudFront::Distribution"):
        if _custom_origins(p):
            entry_points.append((lid, _distribution_acl(stack, p, protected)))
    for lid, has_acl in entry_points:
        if has_acl:
            evidence.append(stack.label(lid))
        else:
            problems.append(Problem(stack.label(lid), "no-waf", "internet-facing with no web ACL"))
    if not entry_points:
        return Outcome(
            not_applicable="no internet-facing load balancer, API or application distribution "
            "(WAF attaches only to those)"
        )
    return Outcome(tuple(evidence), tuple(problems))


def security_groups_of(instance: Mapping[str, Any]) -> list[str]:
    """Logical ids of the security groups an EC2 instance's properties attach."""
    refs = as_list(instance.get("SecurityGroupIds")) + as_list(instance.get("SecurityGroups"))
    for interface in as_list(instance.get("NetworkInterfaces")):
        refs += as_list((interface or {}).get("GroupSet"))
    return [str(target(ref)) for ref in refs if target(ref)]
