"""The data lake in the 3-tier stack: bucket, Glue tables with partition projection, the Athena
workgroup and its named queries, and the app role's grant — from the app's own schema and SQL."""

from __future__ import annotations

import json
from typing import Any

from infra_synth import Synth

from cloudmall.domain.events import EVENT_TYPES
from cloudmall.services.lake_schema import TABLES
from cloudmall.services.lake_sql import REPORT_QUERIES

STACK = "ShoppingMall"


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["Properties"]


def lake_bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, props(r))
        for lid, r in synth.resources(STACK, "AWS::S3::Bucket").items()
        if lid.startswith("LakeBucket")
    ]
    return found


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
