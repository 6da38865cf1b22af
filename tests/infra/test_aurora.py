"""The database_engine=aurora-mysql option: the guide's high-performance pattern."""

from __future__ import annotations

from infra_synth import Synth

STACK = "ShoppingMall"


def test_aurora_cluster_is_encrypted_protected_and_spans_two_instances(aurora: Synth) -> None:
    clusters = aurora.resources(STACK, "AWS::RDS::DBCluster")
    assert len(clusters) == 1
    cluster = next(iter(clusters.values()))
    p = cluster["Properties"]
    assert p["Engine"] == "aurora-mysql"
    assert p["StorageEncrypted"] is True
    assert p["DeletionProtection"] is True
    assert p["BackupRetentionPeriod"] >= 7
    assert "{{resolve:secretsmanager:" in str(p["MasterUserPassword"])
    instances = aurora.resources(STACK, "AWS::RDS::DBInstance")
    assert len(instances) == 2  # a writer and a reader to fail over to
    assert aurora.resources(STACK, "AWS::RDS::DBInstance") != {}
    selection = next(iter(aurora.resources(STACK, "AWS::Backup::BackupSelection").values()))
    assert ":cluster:" in str(selection["Properties"]["BackupSelection"]["Resources"])


def test_aurora_alarms_watch_the_cluster(aurora: Synth) -> None:
    alarms = aurora.resources(STACK, "AWS::CloudWatch::Alarm").values()
    rds = [a["Properties"] for a in alarms if a["Properties"].get("Namespace") == "AWS/RDS"]
    assert rds and all(a["Dimensions"][0]["Name"] == "DBClusterIdentifier" for a in rds)
