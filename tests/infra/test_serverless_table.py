"""The ServerlessShop stack on DynamoDB (`-c database=dynamodb`): one on-demand table with point-
in-time recovery, encryption and deletion protection, reached through a gateway endpoint, each
function allowed the table's items and its three indexes only."""

from __future__ import annotations

import json
from typing import Any

from infra_synth import Synth, rendered
from test_serverless_shop import STACK, functions

from cloudmall.serverless.routes import FUNCTIONS
from cloudmall_infra.serverless_table import ACTIONS, INDEXES


def table_id(synth: Synth) -> str:
    (logical_id,) = synth.resources(STACK, "AWS::DynamoDB::Table")
    return logical_id


def test_one_on_demand_table_with_recovery_encryption_and_protection(
    on_dynamodb: Synth,
) -> None:
    props = on_dynamodb.resources(STACK, "AWS::DynamoDB::Table")[table_id(on_dynamodb)]
    table = props["Properties"]
    assert props["DeletionPolicy"] == "Retain"
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionProtectionEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == list(INDEXES)
    for name, index in indexes.items():
        assert [k["AttributeName"] for k in index["KeySchema"]] == [f"{name}PK", f"{name}SK"]
        assert index["Projection"] == {"ProjectionType": "ALL"}


def test_no_rds_no_proxy_no_migration_on_a_table(on_dynamodb: Synth) -> None:
    resources = on_dynamodb.templates[STACK]["Resources"].values()
    types = {resource["Type"] for resource in resources}
    assert not {t for t in types if t.startswith("AWS::RDS::")}
    assert "Custom::Trigger" not in types  # the stack owns the table: nothing to migrate
    assert sorted(functions(on_dynamodb)) == sorted([*FUNCTIONS, "mail", "sweep", "reconcile"])


def test_the_functions_use_the_table_with_their_own_role(on_dynamodb: Synth) -> None:
    for props in functions(on_dynamodb).values():
        env = props["Environment"]["Variables"]
        url = rendered(env["CLOUDMALL_DATABASE_URL"])
        assert url == f"dynamodb://<{table_id(on_dynamodb)}>?region=ap-northeast-2"
        assert env["CLOUDMALL_DATABASE_IAM_AUTH"] == "false"
    endpoints = on_dynamodb.resources(STACK, "AWS::EC2::VPCEndpoint").values()
    services = [json.dumps(e["Properties"]["ServiceName"]) for e in endpoints]
    assert any("dynamodb" in service for service in services)  # no NAT: a gateway endpoint


def _table_statements(synth: Synth) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for policy in synth.resources(STACK, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            if any(action.startswith("dynamodb:") for action in actions):
                role = policy["Properties"]["Roles"][0]["Ref"]
                found.setdefault(role, []).append(statement)
    return found


def test_each_function_may_use_the_items_and_the_indexes_only(on_dynamodb: Synth) -> None:
    table = table_id(on_dynamodb)
    statements = _table_statements(on_dynamodb)
    # and the mail function, the sweeper and the reconciler
    assert len(statements) == len(FUNCTIONS) + 3
    for role_statements in statements.values():
        (statement,) = role_statements
        assert statement["Effect"] == "Allow"
        assert sorted(statement["Action"]) == sorted(ACTIONS)
        # No Scan, no table management (CreateTable, UpdateTable, DeleteTable, …).
        assert not any(
            "Scan" in a or "Table" in a[9:]
            for a in statement["Action"]
            if a != "dynamodb:DescribeTable"
        )
        resources = [rendered(resource) for resource in statement["Resource"]]
        assert resources == [
            f"<{table}.Arn>",
            *(f"<{table}.Arn>/index/{index}" for index in INDEXES),
        ]
        assert not any("*" in resource for resource in resources)


def test_a_throttle_alarm_instead_of_the_proxy_alarm(on_dynamodb: Synth) -> None:
    alarms = on_dynamodb.resources(STACK, "AWS::CloudWatch::Alarm").values()
    descriptions = [alarm["Properties"]["AlarmDescription"] for alarm in alarms]
    assert any(d.startswith("DynamoDB: requests throttled") for d in descriptions)
    assert not any("RDS Proxy" in d for d in descriptions)
