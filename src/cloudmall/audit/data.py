"""Data checks: encryption at rest and in transit, database backups with restore tests, KMS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cloudmall.audit.model import Outcome, Problem
from cloudmall.audit.network import security_groups_of, world_open_ports
from cloudmall.audit.stack import (
    StackTemplate,
    as_list,
    is_true,
    mentions,
    target,
    whole_number,
)

MIN_BACKUP_RETENTION_DAYS = 7
TLS_ONLY_PARAMETERS = {"require_secure_transport": {"1", "on"}, "rds.force_ssl": {"1"}}
"""DB parameters that refuse plaintext connections (MySQL / MariaDB, PostgreSQL)."""
PLAINTEXT_WEB_PORT = 80
TLS_WEB_PORT = 443


def _outcome(evidence: list[str], problems: list[Problem], empty: str) -> Outcome:
    if not evidence and not problems:
        return Outcome(not_applicable=empty)
    return Outcome(tuple(evidence), tuple(problems))


def _standalone_db_instances(stack: StackTemplate) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """RDS instances that are not members of a cluster (those inherit the cluster's settings)."""
    for lid, p in stack.of_type("AWS::RDS::DBInstance"):
        if "DBClusterIdentifier" not in p:
            yield lid, p


def _databases(stack: StackTemplate) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield from _standalone_db_instances(stack)
    yield from stack.of_type("AWS::RDS::DBCluster")


# ---------------------------------------------------------------------------------------------
# At rest


def _block_devices(p: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [d.get("Ebs") or {} for d in as_list(p.get("BlockDeviceMappings")) if d.get("Ebs")]


def _unencrypted_at_rest(stack: StackTemplate) -> Iterator[tuple[str, str | None]]:
    """``(logical id, None)`` for every store encrypted at rest, ``(id, why)`` for the others."""
    for lid, p in stack.of_type("AWS::S3::Bucket"):
        rules = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
        yield lid, None if rules else "bucket without default encryption"
    for lid, p in _databases(stack):
        yield lid, None if is_true(p.get("StorageEncrypted")) else "database storage not encrypted"
    for lid, p in stack.of_type("AWS::EC2::Volume", "AWS::EFS::FileSystem"):
        yield lid, None if is_true(p.get("Encrypted")) else "volume not encrypted"
    for lid, p in stack.of_type("AWS::ElastiCache::ReplicationGroup"):
        encrypted = is_true(p.get("AtRestEncryptionEnabled"))
        yield lid, None if encrypted else "cache without at-rest encryption"
    for lid, p in stack.of_type("AWS::SNS::Topic"):
        yield lid, None if p.get("KmsMasterKeyId") else "topic without a KMS key"
    for lid, p in stack.of_type("AWS::SQS::Queue"):
        off = p.get("SqsManagedSseEnabled") is False and not p.get("KmsMasterKeyId")
        yield lid, "queue encryption turned off" if off else None
    templates = {
        lid: p.get("LaunchTemplateData") or {}
        for lid, p in stack.of_type("AWS::EC2::LaunchTemplate")
    }
    for lid, data in templates.items():
        for ebs in _block_devices(data):
            yield lid, None if is_true(ebs.get("Encrypted")) else "EBS volume not encrypted"
    for lid, p in stack.of_type("AWS::EC2::Instance"):
        devices = _block_devices(p)
        from_template = templates.get(
            str(target((p.get("LaunchTemplate") or {}).get("LaunchTemplateId"))), {}
        )
        if not devices and not _block_devices(from_template):
            yield lid, "root volume encryption not declared"
        for ebs in devices:
            yield lid, None if is_true(ebs.get("Encrypted")) else "EBS volume not encrypted"


def encryption_at_rest(stack: StackTemplate) -> Outcome:
    """Buckets, databases, volumes, caches, topics and queues are encrypted at rest."""
    evidence: list[str] = []
    problems: list[Problem] = []
    for lid, why in _unencrypted_at_rest(stack):
        if why is None:
            if stack.label(lid) not in evidence:
                evidence.append(stack.label(lid))
        else:
            problems.append(Problem(stack.label(lid), "unencrypted", why))
    return _outcome(evidence, problems, "no buckets, databases, volumes, caches or topics")


# ---------------------------------------------------------------------------------------------
# In transit


def _denies_plaintext(document: Any) -> bool:
    for statement in as_list((document or {}).get("Statement")):
        condition = (statement or {}).get("Condition") or {}
        secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


def _tls_only_policies(stack: StackTemplate, policy_type: str, key: str) -> set[str]:
    """Logical ids of buckets/topics whose resource policy denies requests without TLS."""
    covered: set[str] = set()
    for _, p in stack.of_type(policy_type):
        if _denies_plaintext(p.get("PolicyDocument")):
            covered |= {str(target(ref)) for ref in as_list(p.get(key))}
    return covered


def _listener_problem(p: Mapping[str, Any]) -> str | None:
    if p.get("Protocol") in {"HTTPS", "TLS"}:
        return None
    actions = as_list(p.get("DefaultActions"))
    redirects = all(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
        for a in actions
    )
    return None if actions and redirects else f"{p.get('Protocol')} listener that does not redirect"


def _in_transit(stack: StackTemplate) -> Iterator[tuple[str, str, str | None]]:
    """``(logical id, problem code, None or why not)`` for everything that carries data."""
    tls_buckets = _tls_only_policies(stack, "AWS::S3::BucketPolicy", "Bucket")
    for lid, _ in stack.of_type("AWS::S3::Bucket"):
        yield lid, "plaintext-allowed", None if lid in tls_buckets else "bucket accepts plain HTTP"
    tls_topics = _tls_only_policies(stack, "AWS::SNS::TopicPolicy", "Topics")
    for lid, _ in stack.of_type("AWS::SNS::Topic"):
        yield lid, "plaintext-allowed", None if lid in tls_topics else "topic accepts plain HTTP"
    for lid, p in stack.of_type("AWS::ElasticLoadBalancingV2::Listener"):
        yield lid, "plaintext-listener", _listener_problem(p)
    for lid, p in stack.of_type("AWS::CloudFront::Distribution"):
        config = p.get("DistributionConfig") or {}
        behaviours = [config.get("DefaultCacheBehavior") or {}]
        behaviours += as_list(config.get("CacheBehaviors"))
        lax = [b for b in behaviours if b.get("ViewerProtocolPolicy", "allow-all") == "allow-all"]
        yield lid, "plaintext-viewer", "viewers may use plain HTTP" if lax else None
    for lid, p in stack.of_type("AWS::ElastiCache::ReplicationGroup"):
        tls = is_true(p.get("TransitEncryptionEnabled"))
        yield lid, "plaintext-cache", None if tls else "cache accepts plaintext connections"
    for lid, p in _databases(stack):
        yield lid, "plaintext-database", _database_tls_problem(stack, p)
    for lid, p in stack.of_type("AWS::EC2::Instance"):
        ports = set().union(*[world_open_ports(stack, sg) for sg in security_groups_of(p)])
        if PLAINTEXT_WEB_PORT in ports and TLS_WEB_PORT not in ports:
            yield lid, "plaintext-instance", "serves plain HTTP to the internet, no HTTPS"


def _database_tls_problem(stack: StackTemplate, p: Mapping[str, Any]) -> str | None:
    group = target(p.get("DBParameterGroupName") or p.get("DBClusterParameterGroupName"))
    if group is None or stack.type_of(group) is None:
        return "no parameter group requires TLS"
    parameters = stack.properties(group).get("Parameters") or {}
    for name, accepted in TLS_ONLY_PARAMETERS.items():
        if str(parameters.get(name, "")).lower() in accepted:
            return None
    return f"parameter group {group} does not require TLS (require_secure_transport)"


def encryption_in_transit(stack: StackTemplate) -> Outcome:
    """HTTPS at the edge (HTTP only redirects), TLS-only buckets, topics, caches and databases."""
    evidence: list[str] = []
    problems: list[Problem] = []
    for lid, code, why in _in_transit(stack):
        if why is None:
            evidence.append(stack.label(lid))
        else:
            problems.append(Problem(stack.label(lid), code, why))
    return _outcome(evidence, problems, "nothing in the stack carries data over a network")


# ---------------------------------------------------------------------------------------------
# Backups and restore tests


def backups(stack: StackTemplate) -> Outcome:
    """Every database keeps ≥ 7 days of automated backups, is in an AWS Backup plan and in a
    restore testing plan (AWS Backup restores it on a schedule and checks the restore)."""
    selections = [p for _, p in stack.of_type("AWS::Backup::BackupSelection")]
    restore_tests = [p for _, p in stack.of_type("AWS::Backup::RestoreTestingSelection")]
    evidence: list[str] = []
    problems: list[Problem] = []
    for lid, p in _databases(stack):
        label = stack.label(lid)
        found = []
        retention = whole_number(p.get("BackupRetentionPeriod", 1))
        if retention is None:
            found.append("backup retention is computed at deploy time: cannot tell")
        elif retention < MIN_BACKUP_RETENTION_DAYS:
            found.append(f"automated backups kept {retention} days (< {MIN_BACKUP_RETENTION_DAYS})")
        if not any(mentions(s, lid) for s in selections):
            found.append("in no AWS Backup plan")
        if not any(mentions(s, lid) for s in restore_tests):
            found.append("in no restore testing plan (restores never tested)")
        if found:
            problems.append(Problem(label, "no-backup", "; ".join(found)))
        else:
            evidence.append(label)
    return _outcome(evidence, problems, "no databases")


# ---------------------------------------------------------------------------------------------
# KMS


def kms(stack: StackTemplate) -> Outcome:
    """Customer keys rotate yearly; what is encrypted with KMS (RDS, EBS, SNS, S3 SSE-KMS)."""
    evidence: list[str] = []
    problems: list[Problem] = []
    for lid, p in stack.of_type("AWS::KMS::Key"):
        symmetric = p.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        if symmetric and not is_true(p.get("EnableKeyRotation")):
            problems.append(Problem(stack.label(lid), "no-rotation", "key rotation off"))
        else:
            evidence.append(stack.label(lid))
    kms_backed = [lid for lid, p in _databases(stack) if is_true(p.get("StorageEncrypted"))]
    kms_backed += [lid for lid, p in stack.of_type("AWS::SNS::Topic") if p.get("KmsMasterKeyId")]
    kms_backed += [
        lid for lid, p in stack.of_type("AWS::EC2::Volume") if is_true(p.get("Encrypted"))
    ]
    for lid, p in stack.of_type("AWS::EC2::Instance", "AWS::EC2::LaunchTemplate"):
        devices = _block_devices(p.get("LaunchTemplateData") or p)
        if devices and all(is_true(d.get("Encrypted")) for d in devices):
            kms_backed.append(lid)
    for lid, p in stack.of_type("AWS::S3::Bucket"):
        rules = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
        for rule in as_list(rules):
            default = rule.get("ServerSideEncryptionByDefault") or {}
            if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
                kms_backed.append(lid)
    evidence += [stack.label(lid) for lid in kms_backed]
    return _outcome(evidence, problems, "no keys and nothing encrypted with KMS")
