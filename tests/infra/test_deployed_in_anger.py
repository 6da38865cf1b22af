"""What an architect asks before deploying the 3-tier stack tomorrow (issue #17)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_synth import PRODUCTION_CONTEXT, REPO_ROOT, Synth, synthesize

STACK = "ShoppingMall"


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["Properties"]


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def user_data(synth: Synth) -> str:
    """The Auto Scaling group's boot script."""
    _, group = only(synth.resources(STACK, "AWS::AutoScaling::AutoScalingGroup"))
    template_id = group["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    template = synth.templates[STACK]["Resources"][template_id]
    return json.dumps(props(template)["LaunchTemplateData"]["UserData"])


def secret_reference(synth: Synth, description_start: str) -> str:
    """The ``{{resolve:secretsmanager:...}}`` text of the secret with that description."""
    (secret_id,) = [
        logical_id
        for logical_id, s in synth.resources(STACK, "AWS::SecretsManager::Secret").items()
        if str(props(s).get("Description", "")).startswith(description_start)
    ]
    return secret_id


# ---- 1. liveness for the load balancer, readiness for the first request ----


def test_a_new_instance_gets_traffic_only_after_readyz(production: Synth) -> None:
    _, hook = only(production.resources(STACK, "AWS::AutoScaling::LifecycleHook"))
    p = props(hook)
    assert p["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert p["DefaultResult"] == "ABANDON"  # never ready: never served, replaced
    boot = user_data(production)
    ready = boot.index("/readyz")
    complete = boot.index("complete-lifecycle-action")
    assert ready < complete
    assert f"--lifecycle-hook-name {p['LifecycleHookName']}" in boot


# ---- 4. Aurora: a class it offers, and a clear refusal of one it does not ----


def test_aurora_defaults_to_a_class_aurora_mysql_3_offers(aurora: Synth) -> None:
    classes = {
        props(i)["DBInstanceClass"]
        for i in aurora.resources(STACK, "AWS::RDS::DBInstance").values()
    }
    assert classes == {"db.t4g.medium"}


@pytest.mark.parametrize("instance_type", ["t3.small", "db.t3.micro", "r6g.medium", "m5.large"])
def test_aurora_with_a_class_it_does_not_offer_fails_at_synth(
    tmp_path_factory: pytest.TempPathFactory, instance_type: str
) -> None:
    context = {
        **PRODUCTION_CONTEXT,
        "database_engine": "aurora-mysql",
        "db_instance_type": instance_type,
    }
    with pytest.raises(ValueError, match="Aurora MySQL 3 does not offer"):
        synthesize(tmp_path_factory.mktemp("cdk-bad-aurora"), context)


def test_mysql_84_refuses_a_previous_generation_class(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with pytest.raises(ValueError, match=r"RDS MySQL 8\.4 does not offer"):
        synthesize(tmp_path_factory.mktemp("cdk-bad-mysql"), {"db_instance_type": "t2.small"})


# ---- 5. TLS to the database ----


@pytest.mark.parametrize("name", ["production", "aurora"])
def test_the_database_refuses_plaintext_connections(
    all_synths: dict[str, Synth], name: str
) -> None:
    synth = all_synths[name]
    groups = {
        **synth.resources(STACK, "AWS::RDS::DBParameterGroup"),
        **synth.resources(STACK, "AWS::RDS::DBClusterParameterGroup"),
    }
    parameters = [props(g)["Parameters"] for g in groups.values() if "Parameters" in props(g)]
    assert parameters and all(p["require_secure_transport"] == "1" for p in parameters)


# ---- 7. CloudFront: the shop through the ALB, only two prefixes of the bucket ----


def test_cloudfront_serves_only_media_and_static_from_the_bucket(production: Synth) -> None:
    _, distribution = only(production.resources(STACK, "AWS::CloudFront::Distribution"))
    d = props(distribution)["DistributionConfig"]
    origins = {o["Id"]: o for o in d["Origins"]}
    bucket_origins = {i for i, o in origins.items() if "S3OriginConfig" in o}
    behaviours = {b["PathPattern"]: b["TargetOriginId"] for b in d["CacheBehaviors"]}
    assert set(behaviours) == {"/media/*", "/static/*"}
    assert set(behaviours.values()) <= bucket_origins
    assert all(origins[o].get("OriginPath", "") == "" for o in behaviours.values())
    default_origin = origins[d["DefaultCacheBehavior"]["TargetOriginId"]]
    assert "S3OriginConfig" not in default_origin  # everything else: the shop itself


def test_cloudfront_fronts_the_alb_which_requires_the_origin_verify_header(
    production: Synth,
) -> None:
    _, distribution = only(production.resources(STACK, "AWS::CloudFront::Distribution"))
    d = props(distribution)["DistributionConfig"]
    default = d["DefaultCacheBehavior"]
    origin = next(o for o in d["Origins"] if o["Id"] == default["TargetOriginId"])
    alb_id, _ = only(production.resources(STACK, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    assert origin["DomainName"] == {"Fn::GetAtt": [alb_id, "DNSName"]}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert set(default["AllowedMethods"]) >= {"POST", "PUT", "DELETE", "PATCH"}
    # all viewer headers (Host, for the ALB's certificate) and CloudFront-Viewer-Address
    all_viewer_and_cloudfront = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
    assert default["OriginRequestPolicyId"] == all_viewer_and_cloudfront
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    secret_id = secret_reference(production, "cloudmall: the X-Origin-Verify header")
    assert secret_id in json.dumps(header["HeaderValue"])
    assert "{{resolve:secretsmanager:" in json.dumps(header["HeaderValue"])
    # the ALB: 403 by default, the shop only with the header's value
    https = next(
        props(r)
        for r in production.resources(STACK, "AWS::ElasticLoadBalancingV2::Listener").values()
        if props(r)["Port"] == 443
    )
    (refuse,) = https["DefaultActions"]
    assert refuse["Type"] == "fixed-response"
    assert refuse["FixedResponseConfig"]["StatusCode"] == "403"
    _, rule = only(production.resources(STACK, "AWS::ElasticLoadBalancingV2::ListenerRule"))
    (condition,) = props(rule)["Conditions"]
    assert condition["Field"] == "http-header"
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == "X-Origin-Verify"
    assert json.dumps(condition["HttpHeaderConfig"]["Values"]) == json.dumps(
        [header["HeaderValue"]]
    )
    assert props(rule)["Actions"][0]["Type"] == "forward"


def test_the_intranet_pattern_has_an_internal_alb_and_no_public_shop(internal: Synth) -> None:
    _, alb = only(internal.resources(STACK, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    assert props(alb)["Scheme"] == "internal"
    assert all("privateapp" in ref["Ref"] for ref in props(alb)["Subnets"])
    group = next(
        props(g)
        for g in internal.resources(STACK, "AWS::EC2::SecurityGroup").values()
        if props(g)["GroupDescription"].startswith("cloudmall ALB")
    )
    assert all(rule["CidrIp"] != "0.0.0.0/0" for rule in group["SecurityGroupIngress"])
    _, distribution = only(internal.resources(STACK, "AWS::CloudFront::Distribution"))
    d = props(distribution)["DistributionConfig"]
    assert all("S3OriginConfig" in o for o in d["Origins"])  # no way to the shop from outside
    default_origin = next(
        o for o in d["Origins"] if o["Id"] == d["DefaultCacheBehavior"]["TargetOriginId"]
    )
    assert default_origin["OriginPath"] == "/static"
    assert internal.resources(STACK, "AWS::ElasticLoadBalancingV2::ListenerRule") == {}


# ---- 7. backups: private bucket, nightly, alarmed ----


def test_backups_run_nightly_into_the_backups_bucket_and_alarm_when_missing(
    production: Synth,
) -> None:
    _, rule = only(production.resources(STACK, "AWS::Events::Rule"))
    p = props(rule)
    assert p["ScheduleExpression"].startswith("cron(")
    (target,) = p["Targets"]
    assert target["Arn"]["Fn::Join"][1][-1].endswith(":document/AWS-RunShellScript")
    (run_target,) = target["RunCommandParameters"]["RunCommandTargets"]
    assert run_target["Key"] == "tag:aws:autoscaling:groupName"
    asg_id, _ = only(production.resources(STACK, "AWS::AutoScaling::AutoScalingGroup"))
    assert run_target["Values"] == [{"Ref": asg_id}]
    script = json.dumps(target["Input"])
    create = script.index("cloudmall backup create")
    prune = script.index("backup prune")
    metric = script.index("put-metric-data")
    assert create < prune < metric  # the success metric only after both succeeded
    assert "set -euo pipefail" in script
    alarm = next(
        props(a)
        for a in production.resources(STACK, "AWS::CloudWatch::Alarm").values()
        if props(a).get("MetricName") == "BackupsSucceeded"
    )
    assert alarm["TreatMissingData"] == "breaching"  # a backup that never ran is an alarm too
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["AlarmActions"]
    # the instances get the backups bucket for `cloudmall backup`, never the media bucket
    parameters = {
        props(p)["Name"].rsplit("/", 1)[1]: props(p)["Value"]
        for p in production.resources(STACK, "AWS::SSM::Parameter").values()
    }
    assert "BackupsBucket" in json.dumps(parameters["backup-storage-url"])
    assert "MediaBucket" not in json.dumps(parameters["backup-storage-url"])


# ---- 8. the guide's alarms ----


def test_slow_queries_are_counted_from_the_exported_log_and_alarmed(production: Synth) -> None:
    _, metric_filter = only(production.resources(STACK, "AWS::Logs::MetricFilter"))
    p = props(metric_filter)
    assert p["FilterPattern"] == '"# Query_time:"'
    groups = production.resources(STACK, "AWS::Logs::LogGroup")
    assert props(groups[p["LogGroupName"]["Ref"]])["LogGroupName"].endswith("/slowquery")
    (transformation,) = p["MetricTransformations"]
    alarm = next(
        props(a)
        for a in production.resources(STACK, "AWS::CloudWatch::Alarm").values()
        if props(a).get("MetricName") == transformation["MetricName"]
    )
    assert alarm["Namespace"] == transformation["MetricNamespace"]
    topic_id, _ = only(production.resources(STACK, "AWS::SNS::Topic"))
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_auto_scaling_launch_failures_go_to_the_alarm_topic(production: Synth) -> None:
    _, group = only(production.resources(STACK, "AWS::AutoScaling::AutoScalingGroup"))
    topic_id, _ = only(production.resources(STACK, "AWS::SNS::Topic"))
    (notification,) = props(group)["NotificationConfigurations"]
    assert notification["TopicARN"] == {"Ref": topic_id}
    assert "autoscaling:EC2_INSTANCE_LAUNCH_ERROR" in notification["NotificationTypes"]
    # the topic is encrypted: Auto Scaling's service-linked role may use its key
    _, key = only(production.resources(STACK, "AWS::KMS::Key"))
    (grant,) = [
        st
        for st in props(key)["KeyPolicy"]["Statement"]
        if st.get("Sid") == "AllowAutoScalingNotifications"
    ]
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    principal = json.dumps(grant["Condition"]["StringEquals"]["aws:PrincipalArn"])
    assert "AWSServiceRoleForAutoScaling" in principal
    assert grant["Condition"]["StringEquals"]["kms:CallerAccount"] == "111122223333"


# ---- 9. smaller ----


@pytest.mark.parametrize("name", ["production", "aurora", "defaults", "internal"])
def test_no_named_log_group_outlives_the_stack(all_synths: dict[str, Synth], name: str) -> None:
    """A retained group with a fixed name makes the next deployment after a destroy fail."""
    for stack, template in all_synths[name].templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in props(resource):
                assert resource.get("DeletionPolicy", "Delete") == "Delete", (stack, logical_id)


def test_the_storefront_deployment_lambda_keeps_its_logs_a_month(production: Synth) -> None:
    resources = production.templates[STACK]["Resources"]
    (handler,) = [
        r
        for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function" and lid.startswith("CustomCDKBucketDeployment")
    ]
    group = resources[props(handler)["LoggingConfig"]["LogGroup"]["Ref"]]
    assert props(group)["RetentionInDays"] == 30


def test_the_node_end_of_life_warning_is_not_silenced() -> None:
    for path in (REPO_ROOT / "infra").rglob("*.py"):
        assert "JSII_SILENCE_WARNING" not in path.read_text(), path
    assert "Node.js 22" in (REPO_ROOT / "docs" / "deploy-aws.md").read_text()


# ---- 3. migrations once per deployment, before the group rolls ----


def test_migrations_run_once_per_release_before_the_group_rolls(
    production: Synth, internal: Synth
) -> None:
    resources = production.templates[STACK]["Resources"]
    (migrator_id,) = production.resources(STACK, "AWS::EC2::Instance")
    migrator = resources[migrator_id]
    # one resource per boot script (the release's source hash, the settings it reads): another
    # boot script is another migrator, the same one is no migrator run at all
    (other_id,) = internal.resources(STACK, "AWS::EC2::Instance")
    assert migrator_id.startswith("SchemaMigrationMigrator") and other_id != migrator_id
    assets = json.loads((production.outdir / f"{STACK}.assets.json").read_text())
    source_hashes = [h for h, a in assets["files"].items() if a["source"]["packaging"] == "zip"]
    assert any(h in json.dumps(props(migrator)["UserData"]) for h in source_hashes)
    assert migrator["CreationPolicy"]["ResourceSignal"]["Count"] == 1
    assert props(migrator)["InstanceInitiatedShutdownBehavior"] == "terminate"
    script = json.dumps(props(migrator)["UserData"])
    assert script.index("cloudmall migrate") < script.index("shutdown -h")
    assert "cloudmall.service" not in script.split("systemctl daemon-reload")[1]
    # the group (created or rolled) waits for it, and its instances never migrate
    _, asg = only(production.resources(STACK, "AWS::AutoScaling::AutoScalingGroup"))
    assert migrator_id in asg["DependsOn"]
    # both install through the NAT gateways: they wait for the app subnets' default routes
    for resource in (migrator, asg):
        assert sum("privateapp" in d and "DefaultRoute" in d for d in resource["DependsOn"]) == 2
    assert "cloudmall migrate" not in user_data(production)
    assert "systemctl enable --now cloudmall.service" in user_data(production)
