"""`cloudmall audit` through the main CLI on a template with planted gaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudmall.cli import app

runner = CliRunner()

# Three gaps the guide's checklist forbids, in an otherwise tidy stack.
PLANTED = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  PlainBucket:
    Type: AWS::S3::Bucket
  SshFromAnywhere:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: admin
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  EverythingOnS3:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: app
      Roles: [!Ref AppRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: "s3:*", Resource: "*"}
"""


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    path = tmp_path / "Planted.yaml"
    path.write_text(PLANTED)
    return path


def test_every_planted_gap_is_reported_with_exit_1(planted: Path) -> None:
    result = runner.invoke(app, ["audit", str(planted), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    items = {item["rule_id"]: item for item in report["stacks"][0]["items"]}
    assert items["encryption-at-rest"]["status"] == "not met"
    assert (
        "Planted/PlainBucket: bucket without default encryption"
        in (items["encryption-at-rest"]["reasons"])
    )
    assert items["security-groups"]["status"] == "not met"
    assert items["security-groups"]["reasons"] == [
        "Planted/SshFromAnywhere: port 22 open to 0.0.0.0/0"
    ]
    assert items["least-privilege"]["status"] == "not met"
    [reason] = items["least-privilege"]["reasons"]
    assert reason.startswith("Planted/EverythingOnS3: Action 's3:*'")
    assert "Resource '*'" in reason
    # no baseline stack in the set: the account-level items are not covered
    assert items["cloudtrail"]["status"] == "not met"


def test_the_table_and_markdown_name_the_same_gaps(planted: Path) -> None:
    for output in ("table", "markdown"):
        result = runner.invoke(app, ["audit", str(planted), "-f", output], env={"COLUMNS": "200"})
        assert result.exit_code == 1, output
        text = " ".join(result.stdout.split())
        for gap in (
            "PlainBucket",
            "SshFromAnywhere",
            "EverythingOnS3",
            "port 22 open to 0.0.0.0/0",
        ):
            assert gap in text, (output, gap)
        assert "not met across 1 stack(s)" in text


def test_a_missing_directory_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "template not found" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_an_empty_cdk_out_is_an_error_not_a_pass(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(tmp_path)])
    assert result.exit_code == 2
    assert "no CloudFormation stacks found" in result.stderr


def _write(tmp_path: Path, resources: dict[str, object]) -> Path:
    path = tmp_path / "Odd.json"
    path.write_text(json.dumps({"Resources": resources}))
    return path


def test_a_property_of_an_impossible_shape_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryption": "yes"}}
    result = runner.invoke(app, ["audit", str(_write(tmp_path, {"B": bucket}))])
    assert result.exit_code == 2
    assert "a template holds a property the audit cannot read" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_value_computed_at_deploy_time_is_not_met_not_guessed(tmp_path: Path) -> None:
    db = {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {"StorageEncrypted": True, "BackupRetentionPeriod": {"Ref": "Days"}},
    }
    result = runner.invoke(app, ["audit", str(_write(tmp_path, {"Db": db})), "-f", "json"])
    assert result.exit_code == 1
    items = {i["rule_id"]: i for i in json.loads(result.stdout)["stacks"][0]["items"]}
    assert items["backups"]["status"] == "not met"
    assert (
        "backup retention is computed at deploy time: cannot tell"
        in (items["backups"]["reasons"][0])
    )
