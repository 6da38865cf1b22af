"""The data lake in the 3-tier stack: bucket, Glue tables with partition projection, the Athena
workgroup and its named queries, and the app role's grant — from the app's own schema and SQL;
the exporter on the 3-tier instances (a timer) and in the container stacks (a scheduled task)."""

from __future__ import annotations

import json
from typing import Any

from infra_synth import Synth
from test_shopping_mall import user_data_text

from cloudmall.domain.events import EVENT_TYPES
from cloudmall.services.lake_schema import TABLES
from cloudmall.services.lake_sql import REPORT_QUERIES

STACK = "ShoppingMall"


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["Properties"]


def lake_bucket(synth: Synth, stack: str = STACK) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, props(r))
        for lid, r in synth.resources(stack, "AWS::S3::Bucket").items()
        if lid.startswith("LakeBucket")
    ]
    return found


def task_definition(synth: Synth, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, props(r))
        for lid, r in synth.resources("ContainerShop", "AWS::ECS::TaskDefinition").items()
        if lid.startswith(prefix)
    ]
    return found


def shop_task(synth: Synth) -> tuple[str, dict[str, Any]]:
    return task_definition(synth, "ShopTask")


def export_task(synth: Synth) -> tuple[str, dict[str, Any]]:
    return task_definition(synth, "LakeExportTask")


def test_the_lake_bucket_is_private_encrypted_and_moves_to_cheaper_classes(
    production: Synth,
) -> None:
    _, bucket = lake_bucket(production)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule["Transitions"]] == [
        ("STANDARD_IA", 30),
        ("GLACIER_IR", 90),  # Instant Retrieval: Athena still reads it
    ]


def test_glue_tables_have_the_apps_columns_and_project_their_partitions(
    production: Synth,
) -> None:
    tables = {
        props(t)["TableInput"]["Name"]: props(t)
        for t in production.resources(STACK, "AWS::Glue::Table").values()
    }
    assert set(tables) == set(TABLES)
    for name, table in TABLES.items():
        found = tables[name]
        assert found["DatabaseName"] == "cloudmall_lake"
        given = found["TableInput"]
        columns = given["StorageDescriptor"]["Columns"]
        assert [(c["Name"], c["Type"]) for c in columns] == list(table.columns)
        partitions = [(c["Name"], c["Type"]) for c in given["PartitionKeys"]]
        assert partitions == list(table.partitions)
        parameters = given["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.dt.type"] == "date"
        assert parameters["projection.dt.range"].endswith(",NOW")
        template = json.dumps(parameters["storage.location.template"])
        assert f"/{name}/" in template and "dt=${dt}/" in template
        assert "SerDe" in given["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    projected = tables["events"]["TableInput"]["Parameters"]
    assert projected["projection.type.type"] == "enum"
    assert set(projected["projection.type.values"].split(",")) == set(EVENT_TYPES)


def test_the_workgroup_enforces_its_result_location_and_a_scan_limit(production: Synth) -> None:
    (workgroup,) = production.resources(STACK, "AWS::Athena::WorkGroup").values()
    config = props(workgroup)["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    results = config["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    location = json.dumps(results["OutputLocation"])
    assert "LakeResults" in location and "LakeBucket" not in location


def test_the_reports_queries_are_named_queries_with_the_same_sql(production: Synth) -> None:
    queries = {
        props(q)["Name"]: props(q)
        for q in production.resources(STACK, "AWS::Athena::NamedQuery").values()
    }
    assert {name.removeprefix("cloudmall ").replace(" ", "_") for name in queries} == set(
        REPORT_QUERIES
    )
    for name, sql in REPORT_QUERIES.items():
        query = queries[f"cloudmall {name.replace('_', ' ')}"]
        assert query["QueryString"] == sql.strip()
        assert query["Database"] == "cloudmall_lake"


def test_the_app_may_write_and_read_the_lake_tables_prefixes_only(production: Synth) -> None:
    bucket_id, _ = lake_bucket(production)
    statements = [
        statement
        for lid, policy in production.resources(STACK, "AWS::IAM::Policy").items()
        if lid.startswith("AppRole")
        for statement in props(policy)["PolicyDocument"]["Statement"]
        if bucket_id in json.dumps(statement["Resource"])
    ]
    by_sid = {statement["Sid"]: statement for statement in statements}
    assert set(by_sid) == {"LakeObjects", "LakeList"}
    assert sorted(by_sid["LakeObjects"]["Action"]) == ["s3:GetObject", "s3:PutObject"]
    suffixes = sorted(resource["Fn::Join"][1][-1] for resource in by_sid["LakeObjects"]["Resource"])
    assert suffixes == ["/events/*", "/order_lines/*"]
    assert by_sid["LakeList"]["Condition"] == {
        "StringLike": {"s3:prefix": ["events/*", "order_lines/*"]}
    }


def test_the_app_is_told_where_the_lake_is(production: Synth) -> None:
    (parameter,) = [
        props(p)
        for p in production.resources(STACK, "AWS::SSM::Parameter").values()
        if props(p)["Name"].endswith("/lake-url")
    ]
    bucket_id, _ = lake_bucket(production)
    assert json.dumps(parameter["Value"]).count(bucket_id) == 1


# ---- the exporter, on the 3-tier stack's instances and as the container stack's task ----

CONTAINERS = "ContainerShop"
STAGING = "ContainerShopStaging"


def test_the_app_instances_export_to_the_lake_every_minute(production: Synth) -> None:
    text = user_data_text(production)
    assert "cat > /etc/systemd/system/cloudmall-lake-export.timer" in text
    assert "OnCalendar=minutely" in text
    service = text[text.index("cat > /etc/systemd/system/cloudmall-lake-export.service") :]
    service = service[service.index("\n") : service.index("\nCLOUDMALL_EOF")] + "\n"
    for line in (
        "Type=oneshot",  # a run still going is not started again
        "User=cloudmall",
        "EnvironmentFile=/etc/cloudmall/cloudmall.env",
        "ExecStart=/usr/local/bin/cloudmall lake export",
        "StandardOutput=append:/var/log/cloudmall/app.log",  # shipped to the app's log group
    ):
        assert f"\n{line}\n" in service, line
    assert "systemctl enable --now cloudmall-lake-export.timer" in text
    # the deploy's one-off migrator does not export
    (migrator,) = [
        json.dumps(props(i)["UserData"])
        for i in production.resources(STACK, "AWS::EC2::Instance").values()
        if "cloudmall migrate" in json.dumps(props(i).get("UserData"))
    ]
    assert "lake export" not in migrator


def test_each_container_stage_has_its_own_lake(production: Synth) -> None:
    names = {
        stack: [
            props(d)["DatabaseInput"]["Name"]
            for d in production.resources(stack, "AWS::Glue::Database").values()
        ]
        for stack in (STACK, CONTAINERS, STAGING)
    }
    assert names == {
        STACK: ["cloudmall_lake"],
        CONTAINERS: ["cloudmall_lake_production"],
        STAGING: ["cloudmall_lake_staging"],
    }
    bucket_id, _ = lake_bucket(production, CONTAINERS)
    for task_id in (shop_task(production)[0], export_task(production)[0]):
        (container,) = [
            c
            for c in props(production.templates[CONTAINERS]["Resources"][task_id])[
                "ContainerDefinitions"
            ]
            if c["Name"] != "migrate"
        ]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert bucket_id in json.dumps(environment["CLOUDMALL_LAKE_URL"])


def test_a_scheduled_fargate_task_exports_to_the_lake(production: Synth) -> None:
    task_id, task = export_task(production)
    (container,) = task["ContainerDefinitions"]
    shell, flag, script = container["Command"]
    assert (shell, flag) == ("sh", "-c") and script.endswith("&& exec cloudmall lake export")
    assert "truststore.pki.rds.amazonaws.com" in script  # the database URL's CA bundle first
    (app,) = [c for c in shop_task(production)[1]["ContainerDefinitions"] if c["Name"] != "migrate"]
    assert container["Image"] == app["Image"]
    # the database and the lake: no cache, no media bucket
    assert {s["Name"] for s in container["Secrets"]} == {
        "CLOUDMALL_SECRET_KEY",
        "CLOUDMALL_DATABASE_USERNAME",
        "CLOUDMALL_DATABASE_PASSWORD",
    }
    assert {e["Name"] for e in container["Environment"]} == {
        "CLOUDMALL_ENVIRONMENT",
        "CLOUDMALL_TOKEN_ALGORITHM",  # the app's settings want one in production
        "CLOUDMALL_DATABASE_URL",
        "CLOUDMALL_LAKE_URL",
    }
    assert container["ReadonlyRootFilesystem"] is True and container["User"] == "10001:10001"
    groups = production.resources(CONTAINERS, "AWS::Logs::LogGroup")
    group = container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    assert groups[group]["Properties"]["RetentionInDays"] == 30

    (schedule,) = [
        props(s) for s in production.resources(CONTAINERS, "AWS::Scheduler::Schedule").values()
    ]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("ShopCluster")
    ecs_parameters = target["EcsParameters"]
    assert ecs_parameters["TaskDefinitionArn"] == {"Ref": task_id}
    assert ecs_parameters["LaunchType"] == "FARGATE"
    network = ecs_parameters["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    service = next(iter(production.resources(CONTAINERS, "AWS::ECS::Service").values()))
    shop_network = props(service)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == shop_network["Subnets"]  # the app subnets
    # the scheduler may run this task and pass its two roles, nothing else
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for lid, policy in production.resources(CONTAINERS, "AWS::IAM::Policy").items()
        if {"Ref": role_id} in props(policy)["Roles"]
        for statement in props(policy)["PolicyDocument"]["Statement"]
    ]
    by_action = {json.dumps(s["Action"]): s for s in statements}
    assert set(by_action) == {'"ecs:RunTask"', '"iam:PassRole"'}
    assert task_id in json.dumps(by_action['"ecs:RunTask"']["Resource"])
    passed = json.dumps(by_action['"iam:PassRole"']["Resource"])
    assert task["TaskRoleArn"]["Fn::GetAtt"][0] in passed
    assert task["ExecutionRoleArn"]["Fn::GetAtt"][0] in passed


def test_the_export_task_reaches_the_database_and_the_lake_prefixes_only(
    production: Synth,
) -> None:
    _, task = export_task(production)
    role_id = task["TaskRoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in production.resources(CONTAINERS, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in props(policy)["Roles"]
        for statement in props(policy)["PolicyDocument"]["Statement"]
    ]
    bucket_id, _ = lake_bucket(production, CONTAINERS)
    assert {s["Sid"] for s in statements} == {"LakeObjects", "LakeList"}
    assert all(bucket_id in json.dumps(s["Resource"]) for s in statements)
    objects = next(s for s in statements if s["Sid"] == "LakeObjects")
    suffixes = sorted(resource["Fn::Join"][1][-1] for resource in objects["Resource"])
    assert suffixes == ["/events/*", "/order_lines/*"]

    groups = production.resources(CONTAINERS, "AWS::EC2::SecurityGroup")
    (group_id,) = [
        lid
        for lid, g in groups.items()
        if props(g)["GroupDescription"].startswith("cloudmall lake")
    ]
    assert "SecurityGroupIngress" not in props(groups[group_id])
    ingress = [
        props(rule)
        for rule in production.resources(CONTAINERS, "AWS::EC2::SecurityGroupIngress").values()
        if props(rule).get("SourceSecurityGroupId", {}).get("Fn::GetAtt", [None])[0] == group_id
    ]
    assert [(rule["FromPort"], rule["ToPort"]) for rule in ingress] == [(3306, 3306)]
