"""The guide's 복구 테스트: AWS Backup restores the database every week (both engines)."""

from __future__ import annotations

import pytest
from infra_synth import Synth

STACK = "ShoppingMall"


@pytest.mark.parametrize(
    ("name", "kind", "db_type"),
    [
        ("production", "RDS", "AWS::RDS::DBInstance"),
        ("aurora", "Aurora", "AWS::RDS::DBCluster"),
    ],
)
def test_the_database_is_restored_weekly_from_the_backup_vault(
    all_synths: dict[str, Synth], name: str, kind: str, db_type: str
) -> None:
    synth = all_synths[name]
    [plan] = synth.resources(STACK, "AWS::Backup::RestoreTestingPlan").values()
    [selection] = synth.resources(STACK, "AWS::Backup::RestoreTestingSelection").values()
    [vault_id] = synth.resources(STACK, "AWS::Backup::BackupVault")
    [db_id] = synth.resources(STACK, db_type)
    points = plan["Properties"]["RecoveryPointSelection"]
    assert points["IncludeVaults"] == [{"Fn::GetAtt": [vault_id, "BackupVaultArn"]}]
    assert points["Algorithm"] == "LATEST_WITHIN_WINDOW"
    assert plan["Properties"]["ScheduleExpression"] == "cron(0 20 ? * SUN *)"
    props = selection["Properties"]
    assert props["RestoreTestingPlanName"] == plan["Properties"]["RestoreTestingPlanName"]
    assert props["ProtectedResourceType"] == kind
    [arn] = props["ProtectedResourceArns"]
    assert {"Ref": db_id} in arn["Fn::Join"][1]
    role = synth.templates[STACK]["Resources"][props["IamRoleArn"]["Fn::GetAtt"][0]]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "backup.amazonaws.com"
    }
