"""The SecurityBaseline stack: CloudTrail, GuardDuty, AWS Config, password policy, root alarm."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match
from infra_synth import Synth

STACK = "SecurityBaseline"


def _one(synth: Synth, type_: str) -> tuple[str, dict]:
    [(logical_id, resource)] = synth.resources(STACK, type_).items()
    return logical_id, resource["Properties"]


def test_the_trail_covers_every_region_validates_its_files_and_encrypts_them(
    production: Synth,
) -> None:
    synth = production
    _, trail = _one(synth, "AWS::CloudTrail::Trail")
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IsLogging"] is True
    assert trail["EnableLogFileValidation"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    key_id = trail["KMSKeyId"]["Fn::GetAtt"][0]
    key = synth.templates[STACK]["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert trail["CloudWatchLogsLogGroupArn"]  # the copy the root-use alarm reads


def test_the_trail_bucket_is_kms_encrypted_versioned_logged_and_expires(production: Synth) -> None:
    template = production.templates[STACK]
    _, trail = _one(production, "AWS::CloudTrail::Trail")
    bucket = template["Resources"][trail["S3BucketName"]["Ref"]]["Properties"]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert (
        bucket["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
        != trail["S3BucketName"]["Ref"]
    )
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    [lifecycle] = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == 730
    assert lifecycle["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": 90}]


def test_guardduty_findings_reach_the_alarm_topic(production: Synth) -> None:
    template = production.template(STACK)
    template.has_resource_properties(
        "AWS::GuardDuty::Detector",
        {"Enable": True, "FindingPublishingFrequency": "FIFTEEN_MINUTES"},
    )
    _, rule = _one(production, "AWS::Events::Rule")
    assert rule["EventPattern"]["source"] == ["aws.guardduty"]
    assert rule["EventPattern"]["detail"] == {"severity": [{"numeric": [">=", 4]}]}
    [target] = rule["Targets"]
    topic_id, _ = _one(production, "AWS::SNS::Topic")
    assert target["Arn"] == {"Ref": topic_id}
    # the topic is KMS-encrypted: EventBridge may use its key, or findings are dropped
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Principal": {"Service": "events.amazonaws.com"}, "Effect": "Allow"}
                        )
                    ]
                )
            }
        },
    )
    subscription = production.resources(STACK, "AWS::SNS::Subscription")
    assert [s["Properties"]["Endpoint"] for s in subscription.values()] == ["ops@shop.example.com"]


def test_config_records_everything_and_runs_the_checklists_rules(production: Synth) -> None:
    _, recorder = _one(production, "AWS::Config::ConfigurationRecorder")
    assert recorder["RecordingGroup"] == {
        "AllSupported": True,
        "IncludeGlobalResourceTypes": True,
    }
    recorder_id, _ = _one(production, "AWS::Config::ConfigurationRecorder")
    [channel_resource] = production.resources(STACK, "AWS::Config::DeliveryChannel").values()
    assert recorder_id in channel_resource["DependsOn"]
    _, channel = _one(production, "AWS::Config::DeliveryChannel")
    assert channel["S3KeyPrefix"] == "config" and channel["S3KmsKeyArn"]
    rules = {
        r["Properties"]["Source"]["SourceIdentifier"]: r
        for r in production.resources(STACK, "AWS::Config::ConfigRule").values()
    }
    assert {
        "ROOT_ACCOUNT_MFA_ENABLED",
        "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
        "ACCESS_KEYS_ROTATED",
        "IAM_PASSWORD_POLICY",
        "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "RDS_STORAGE_ENCRYPTED",
        "ENCRYPTED_VOLUMES",
        "EC2_EBS_ENCRYPTION_BY_DEFAULT",
        "CLOUD_TRAIL_ENABLED",
        "INCOMING_SSH_DISABLED",
    } <= set(rules)
    assert rules["ACCESS_KEYS_ROTATED"]["Properties"]["InputParameters"] == {
        "maxAccessKeyAge": "90"
    }
    assert (
        rules["IAM_PASSWORD_POLICY"]["Properties"]["InputParameters"]["MinimumPasswordLength"]
        == "14"
    )
    recorder_id, _ = _one(production, "AWS::Config::ConfigurationRecorder")
    for rule in rules.values():  # a rule created before the recorder evaluates nothing
        assert recorder_id in rule["DependsOn"]


def test_the_password_policy_is_one_scoped_sdk_call(production: Synth) -> None:
    [resource] = production.resources(STACK, "Custom::AWS").values()
    create = json.loads(resource["Properties"]["Create"])
    assert create["service"] == "IAM" and create["action"] == "updateAccountPasswordPolicy"
    assert create["parameters"]["MinimumPasswordLength"] == 14
    assert create["parameters"]["PasswordReusePrevention"] == 24
    assert create["parameters"]["MaxPasswordAge"] == 90
    assert "Delete" not in resource["Properties"]  # deleting the stack keeps the policy
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in production.resources(STACK, "AWS::IAM::Policy").values()
        if "PasswordPolicy" in p["Properties"]["PolicyName"]
    ]
    assert policy == [
        {"Action": "iam:UpdateAccountPasswordPolicy", "Effect": "Allow", "Resource": "*"}
    ]


def test_root_account_use_raises_an_alarm_on_the_topic(production: Synth) -> None:
    _, metric_filter = _one(production, "AWS::Logs::MetricFilter")
    assert '$.userIdentity.type = "Root"' in metric_filter["FilterPattern"]
    [transformation] = metric_filter["MetricTransformations"]
    [alarm] = [
        a["Properties"]
        for a in production.resources(STACK, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == transformation["MetricName"]
    ]
    assert alarm["Namespace"] == transformation["MetricNamespace"]
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    topic_id, _ = _one(production, "AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
