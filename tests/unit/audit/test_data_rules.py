"""Data rules on small templates: encryption at rest and in transit, backups, KMS."""

from __future__ import annotations

from cloudmall.audit import data
from tests.unit.audit.templates import (
    ENCRYPTED_BUCKET,
    bucket_policy,
    ref,
    security_group,
    stack,
    tcp,
)


def test_an_unencrypted_bucket_is_reported_and_an_encrypted_one_is_not() -> None:
    outcome = data.encryption_at_rest(
        stack({"Plain": ("AWS::S3::Bucket", {}), "Safe": ENCRYPTED_BUCKET})
    )
    assert [str(p) for p in outcome.problems] == ["Shop/Plain: bucket without default encryption"]
    assert outcome.evidence == ("Shop/Safe",)


def test_databases_volumes_caches_and_launch_templates_are_checked_at_rest() -> None:
    shop = stack(
        {
            "Db": ("AWS::RDS::DBInstance", {"StorageEncrypted": False}),
            "Member": ("AWS::RDS::DBInstance", {"DBClusterIdentifier": ref("Cluster")}),
            "Cluster": ("AWS::RDS::DBCluster", {"StorageEncrypted": True}),
            "Cache": ("AWS::ElastiCache::ReplicationGroup", {}),
            "Lt": (
                "AWS::EC2::LaunchTemplate",
                {"LaunchTemplateData": {"BlockDeviceMappings": [{"Ebs": {"Encrypted": False}}]}},
            ),
            "Bare": ("AWS::EC2::Instance", {"ImageId": "ami-1"}),
        }
    )
    outcome = data.encryption_at_rest(shop)
    assert sorted(p.resource for p in outcome.problems) == [
        "Shop/Bare",
        "Shop/Cache",
        "Shop/Db",
        "Shop/Lt",
    ]
    assert outcome.evidence == ("Shop/Cluster",)  # the member inherits the cluster's setting


def test_a_bucket_without_a_tls_only_policy_accepts_plain_http() -> None:
    shop = stack(
        {"Plain": ENCRYPTED_BUCKET, "Safe": ENCRYPTED_BUCKET, "SafePolicy": bucket_policy("Safe")}
    )
    outcome = data.encryption_in_transit(shop)
    assert [str(p) for p in outcome.problems] == ["Shop/Plain: bucket accepts plain HTTP"]
    assert outcome.evidence == ("Shop/Safe",)


def test_http_listeners_pass_only_when_they_redirect_to_https() -> None:
    redirect = {
        "Protocol": "HTTP",
        "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS"}}],
    }
    forward = {"Protocol": "HTTP", "DefaultActions": [{"Type": "forward"}]}
    shop = stack(
        {
            "Redirect": ("AWS::ElasticLoadBalancingV2::Listener", redirect),
            "Forward": ("AWS::ElasticLoadBalancingV2::Listener", forward),
            "Https": ("AWS::ElasticLoadBalancingV2::Listener", {"Protocol": "HTTPS"}),
        }
    )
    outcome = data.encryption_in_transit(shop)
    assert [p.resource for p in outcome.problems] == ["Shop/Forward"]
    assert set(outcome.evidence) == {"Shop/Redirect", "Shop/Https"}


def test_databases_must_require_tls_and_caches_must_speak_it() -> None:
    shop = stack(
        {
            "Params": ("AWS::RDS::DBParameterGroup", {"Parameters": {"slow_query_log": "1"}}),
            "Db": ("AWS::RDS::DBInstance", {"DBParameterGroupName": ref("Params")}),
            "TlsParams": (
                "AWS::RDS::DBParameterGroup",
                {"Parameters": {"require_secure_transport": "ON"}},
            ),
            "TlsDb": ("AWS::RDS::DBInstance", {"DBParameterGroupName": ref("TlsParams")}),
            "Cache": ("AWS::ElastiCache::ReplicationGroup", {"TransitEncryptionEnabled": False}),
        }
    )
    outcome = data.encryption_in_transit(shop)
    assert sorted((p.resource, p.code) for p in outcome.problems) == [
        ("Shop/Cache", "plaintext-cache"),
        ("Shop/Db", "plaintext-database"),
    ]
    assert outcome.evidence == ("Shop/TlsDb",)


def test_an_instance_serving_http_to_the_world_without_https_is_reported() -> None:
    shop = stack(
        {
            "Http": security_group(tcp(80)),
            "Both": security_group(tcp(80), tcp(443)),
            "Plain": (
                "AWS::EC2::Instance",
                {"SecurityGroupIds": [{"Fn::GetAtt": ["Http", "GroupId"]}]},
            ),
            "Tls": (
                "AWS::EC2::Instance",
                {"SecurityGroupIds": [{"Fn::GetAtt": ["Both", "GroupId"]}]},
            ),
        }
    )
    outcome = data.encryption_in_transit(shop)
    assert [(p.resource, p.code) for p in outcome.problems] == [
        ("Shop/Plain", "plaintext-instance")
    ]


def test_a_database_needs_retention_a_backup_plan_and_a_restore_test() -> None:
    db_arn = {"Fn::Join": ["", ["arn:aws:rds:ap-northeast-2:1:db:", ref("Db")]]}
    base = {"Db": ("AWS::RDS::DBInstance", {"BackupRetentionPeriod": 1})}
    outcome = data.backups(stack(base))
    [problem] = outcome.problems
    assert problem.message == (
        "automated backups kept 1 days (< 7); in no AWS Backup plan; "
        "in no restore testing plan (restores never tested)"
    )
    complete = {
        "Db": ("AWS::RDS::DBInstance", {"BackupRetentionPeriod": 35}),
        "Selection": (
            "AWS::Backup::BackupSelection",
            {"BackupSelection": {"Resources": [db_arn]}},
        ),
        "RestoreTest": (
            "AWS::Backup::RestoreTestingSelection",
            {"ProtectedResourceArns": [db_arn]},
        ),
    }
    outcome = data.backups(stack(complete))
    assert outcome.evidence == ("Shop/Db",) and not outcome.problems


def test_keys_without_rotation_are_reported() -> None:
    shop = stack(
        {
            "Rotating": ("AWS::KMS::Key", {"EnableKeyRotation": True}),
            "Static": ("AWS::KMS::Key", {}),
            "Signing": ("AWS::KMS::Key", {"KeySpec": "ECC_NIST_P256"}),  # cannot rotate
        }
    )
    outcome = data.kms(shop)
    assert [p.resource for p in outcome.problems] == ["Shop/Static"]
    assert outcome.evidence == ("Shop/Rotating", "Shop/Signing")
    assert data.kms(stack({"Plain": ("AWS::S3::Bucket", {})})).not_applicable
