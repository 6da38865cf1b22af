"""Pattern 5's ContainerShop stacks (production and staging), on their synthesized templates."""

from __future__ import annotations

import json
from typing import Any

from infra_synth import Synth, host_names

PRODUCTION = "ContainerShop"
STAGING = "ContainerShopStaging"
APP = "shopping-mall-app"


def one(synth: Synth, stack: str, type_: str) -> dict[str, Any]:
    found = list(synth.resources(stack, type_).values())
    assert len(found) == 1, [type_, len(found)]
    return found[0]["Properties"]


def containers(synth: Synth, stack: str) -> dict[str, dict[str, Any]]:
    """The service's task's containers (the lake export has a task of its own)."""
    (task,) = [
        r["Properties"]
        for lid, r in synth.resources(stack, "AWS::ECS::TaskDefinition").items()
        if lid.startswith("ShopTask")
    ]
    return {c["Name"]: c for c in task["ContainerDefinitions"]}


def every_container(synth: Synth, stack: str) -> list[dict[str, Any]]:
    return [
        container
        for task in synth.resources(stack, "AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]
    ]


def test_the_image_repository_scans_on_push_keeps_tags_and_expires_old_images(
    production: Synth,
) -> None:
    repository = one(production, PRODUCTION, "AWS::ECR::Repository")
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
    assert rules[1]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 50,
    }
    # staging runs what the one repository holds: no second repository
    assert production.resources(STAGING, "AWS::ECR::Repository") == {}


def test_the_service_spans_two_zones_and_rolls_back_a_failed_deployment(
    production: Synth,
) -> None:
    service = one(production, PRODUCTION, "AWS::ECS::Service")
    assert service["LaunchType"] == "FARGATE"
    deployment = service["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["MinimumHealthyPercent"] == 100
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert len(network["Subnets"]) == 2
    assert "DesiredCount" not in service  # scaling owns it; a deploy must not reset it


def test_the_guides_scaling_min_2_max_10_cpu_70(production: Synth) -> None:
    target = one(production, PRODUCTION, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    policy = one(production, PRODUCTION, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 70
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "ECSServiceAverageCPUUtilization"
    )
    staging = one(production, STAGING, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (staging["MinCapacity"], staging["MaxCapacity"]) == (1, 2)


def test_migrations_run_to_completion_before_the_app_starts(production: Synth) -> None:
    found = containers(production, PRODUCTION)
    assert set(found) == {"migrate", APP}
    assert found["migrate"]["Essential"] is False
    shell, flag, script = found["migrate"]["Command"]
    assert (shell, flag) == ("sh", "-c") and script.endswith("&& exec cloudmall migrate")
    # it first fetches the CA bundle the database URL names (TLS required) into a shared volume
    url = json.dumps(found[APP]["Environment"])
    assert "ssl_ca=/etc/cloudmall/rds-ca.pem" in url
    assert "'/etc/cloudmall/rds-ca.pem'" in script and "truststore.pki.rds.amazonaws.com" in script
    assert found[APP]["DependsOn"] == [{"Condition": "SUCCESS", "ContainerName": "migrate"}]
    assert found[APP]["Image"] == found["migrate"]["Image"]


def test_containers_run_read_only_as_the_images_user_with_logs_kept_a_month(
    production: Synth,
) -> None:
    groups = production.resources(PRODUCTION, "AWS::Logs::LogGroup")
    found = every_container(production, PRODUCTION)
    assert len(found) == 3  # migrate and the app; the lake export
    for container in found:
        group = container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == 30
        assert container["ReadonlyRootFilesystem"] is True
        assert container["User"] == "10001:10001"
        assert {m["ContainerPath"] for m in container["MountPoints"]} == {
            "/var/lib/cloudmall",
            "/tmp",  # noqa: S108 - a task volume, the only writable paths
            "/etc/cloudmall",
        }
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"


def test_credentials_are_ecs_secrets_never_environment_values(production: Synth) -> None:
    app = containers(production, PRODUCTION)[APP]
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in app["Secrets"]}
    assert set(secrets) == {
        "CLOUDMALL_SECRET_KEY",
        "CLOUDMALL_DATABASE_USERNAME",
        "CLOUDMALL_DATABASE_PASSWORD",
        "CLOUDMALL_CACHE_PASSWORD",
    }
    assert ":password::" in secrets["CLOUDMALL_DATABASE_PASSWORD"]
    assert ":username::" in secrets["CLOUDMALL_DATABASE_USERNAME"]
    environment = {e["Name"]: e["Value"] for e in app["Environment"]}
    assert not any("PASSWORD" in name or "SECRET" in name for name in environment)
    assert "{{resolve:" not in json.dumps(app)
    url = json.dumps(environment["CLOUDMALL_DATABASE_URL"])
    assert url.startswith('{"Fn::Join": ["", ["mysql+asyncmy://"') and "@" not in url
    assert environment["CLOUDMALL_WORKERS"] == "2"
    assert environment["CLOUDMALL_TOKEN_ALGORITHM"] == "HS256"  # docs/security.md


def test_the_load_balancer_checks_liveness_on_the_tasks(production: Synth) -> None:
    group = one(production, PRODUCTION, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["TargetType"] == "ip"
    assert group["HealthCheckPath"] == "/livez"
    listeners = production.resources(PRODUCTION, "AWS::ElasticLoadBalancingV2::Listener")
    assert sorted(r["Properties"]["Port"] for r in listeners.values()) == [80, 443]
    assert production.resources(PRODUCTION, "AWS::WAFv2::WebACLAssociation") != {}
    health = containers(production, PRODUCTION)[APP]["HealthCheck"]
    assert "/livez" in " ".join(health["Command"])


def test_every_alarm_notifies_the_topic(production: Synth) -> None:
    (topic_id,) = production.resources(PRODUCTION, "AWS::SNS::Topic")
    alarms = production.resources(PRODUCTION, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 5
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_the_app_answers_the_alb_name_and_the_names_pointed_at_it(
    production: Synth, defaults: Synth
) -> None:
    for synth, names in ((production, ["shop.example.com"]), (defaults, [])):
        for stack in (PRODUCTION, STAGING):
            (alb_id,) = synth.resources(stack, "AWS::ElasticLoadBalancingV2::LoadBalancer")
            app = containers(synth, stack)[APP]
            environment = {e["Name"]: e["Value"] for e in app["Environment"]}
            assert host_names(environment["CLOUDMALL_ALLOWED_HOSTS"]) == [
                f"<{alb_id}.DNSName>",
                *names,
            ]
