"""The ServerlessShop stack (the guide's pattern 6): three functions from one package behind an
HTTP API and CloudFront, in the VPC, on RDS Proxy with IAM auth in front of RDS MySQL 8.4."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_synth import Synth, host_names, rendered

from cloudmall.serverless.routes import FUNCTIONS, api_gateway_path
from cloudmall_infra.functions import FUNCTIONS as SIZES
from cloudmall_infra.functions import (
    LAMBDA_VAR_DIR,
    MAIL_HANDLER,
    RECONCILE_HANDLER,
    SWEEP_HANDLER,
)

STACK = "ServerlessShop"


def functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """The shop's functions by CLOUDMALL_FUNCTION (the migration under "migrate", the scheduled
    functions under "mail", "sweep" and "reconcile")."""
    found = {}
    for resource in synth.resources(STACK, "AWS::Lambda::Function").values():
        props = resource["Properties"]
        env = props.get("Environment", {}).get("Variables", {})
        if props.get("Handler") == "cloudmall.serverless.migrate.handler":
            found["migrate"] = props
        elif props.get("Handler") == MAIL_HANDLER:
            found["mail"] = props
        elif props.get("Handler") == SWEEP_HANDLER:
            found["sweep"] = props
        elif props.get("Handler") == RECONCILE_HANDLER:
            found["reconcile"] = props
        elif "CLOUDMALL_FUNCTION" in env:
            found[env["CLOUDMALL_FUNCTION"]] = props
    return found


def logical_id_of(synth: Synth, name: str) -> str:
    for logical_id, resource in synth.resources(STACK, "AWS::Lambda::Function").items():
        env = resource["Properties"].get("Environment", {}).get("Variables", {})
        if env.get("CLOUDMALL_FUNCTION") == name:
            return logical_id
    raise KeyError(name)


def test_three_functions_from_one_package_with_their_sizes(production: Synth) -> None:
    found = functions(production)
    assert set(found) == {
        "accounts",
        "catalogue",
        "orders",
        "migrate",
        "mail",
        "sweep",
        "reconcile",
    }
    codes = {json.dumps(props["Code"], sort_keys=True) for props in found.values()}
    assert len(codes) == 1  # one artifact
    for name, props in found.items():
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["VpcConfig"]["SubnetIds"]
        env = props["Environment"]["Variables"]
        assert env["CLOUDMALL_RUNTIME"] == "function"
        assert env["CLOUDMALL_DATABASE_IAM_AUTH"] == "true"
        assert "CLOUDMALL_SECRET_KEY" not in env  # read from Secrets Manager at init
        assert env["CLOUDMALL_OUTBOX_CONSUMERS"] == "mail"  # the one reader in this stack
        assert env["CLOUDMALL_TOKEN_ALGORITHM"] == "HS256"  # signed with it (docs/security.md)
        if name in FUNCTIONS:
            assert props["Handler"] == "cloudmall.serverless.handler"
            assert props["MemorySize"] == SIZES[name].memory_mb
            assert "CLOUDMALL_SECRET_KEY_SECRET_ARN" in env
    assert found["orders"]["ReservedConcurrentExecutions"] == 50
    assert "ReservedConcurrentExecutions" not in found["catalogue"]


def invoked_function(synth: Synth, integration_uri: dict[str, Any]) -> str:
    """The function an integration invokes: itself (its ARN), or through an alias (its Ref)."""
    if "Fn::GetAtt" in integration_uri:
        return str(integration_uri["Fn::GetAtt"][0])
    alias = synth.resources(STACK, "AWS::Lambda::Alias")[integration_uri["Ref"]]
    return str(alias["Properties"]["FunctionName"]["Ref"])


@pytest.mark.parametrize("variant", ["production", "internal"])
def test_every_route_goes_to_its_function(variant: str, all_synths: dict[str, Synth]) -> None:
    synth = all_synths[variant]
    integrations = {
        logical_id: invoked_function(synth, resource["Properties"]["IntegrationUri"])
        for logical_id, resource in synth.resources(STACK, "AWS::ApiGatewayV2::Integration").items()
    }
    routes = {}
    for resource in synth.resources(STACK, "AWS::ApiGatewayV2::Route").values():
        props = resource["Properties"]
        target = props["Target"]["Fn::Join"][1][1]["Ref"]
        routes[props["RouteKey"]] = integrations[target]
    expected = {
        f"{method} {api_gateway_path(template)}": logical_id_of(synth, name)
        for name, route_set in FUNCTIONS.items()
        for method, template in route_set
    }
    assert routes == expected


def test_snapstart_serves_the_api_from_each_functions_published_version(
    production: Synth,
) -> None:
    found = functions(production)
    for name in FUNCTIONS:
        assert found[name]["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
    assert "SnapStart" not in found["migrate"]  # run once per deploy: nothing to resume
    aliases = production.resources(STACK, "AWS::Lambda::Alias")
    versions = production.resources(STACK, "AWS::Lambda::Version")
    live = {
        alias["Properties"]["FunctionName"]["Ref"]: alias["Properties"]
        for alias in aliases.values()
    }
    assert set(live) == {logical_id_of(production, name) for name in FUNCTIONS}
    for function_id, alias in live.items():
        assert alias["Name"] == "live"
        version = versions[alias["FunctionVersion"]["Fn::GetAtt"][0]]
        assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    # API Gateway may invoke the aliases (a snapshot exists only for a version), not $LATEST.
    permitted = {
        permission["Properties"]["FunctionName"]["Ref"]
        for permission in production.resources(STACK, "AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    assert permitted == set(aliases)


def test_without_snapstart_no_alias_stands_between_the_api_and_the_functions(
    internal: Synth,
) -> None:
    found = functions(internal)
    assert not any("SnapStart" in props for props in found.values())
    assert internal.resources(STACK, "AWS::Lambda::Alias") == {}


@pytest.mark.parametrize("variant", ["production", "dynamodb"])
def test_every_function_keeps_its_files_in_lambdas_writable_tmp(
    variant: str, all_synths: dict[str, Synth]
) -> None:
    """Lambda's file system is read-only but for /tmp: whatever the shop derives from its var
    folder (the simulated gateway's ledger, a local secret, mail files) must land there."""
    found = functions(all_synths[variant])
    assert {"orders", "mail", "sweep", "reconcile"} <= set(found)
    for name, props in found.items():
        env = props.get("Environment", {}).get("Variables", {})
        if env.get("CLOUDMALL_RUNTIME") == "function":
            assert env.get("CLOUDMALL_VAR_DIR") == LAMBDA_VAR_DIR, name
    assert LAMBDA_VAR_DIR.startswith("/tmp/")  # noqa: S108


def test_the_api_is_throttled_and_logged(production: Synth) -> None:
    (stage,) = production.resources(STACK, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert "requestId" in stage["Properties"]["AccessLogSettings"]["Format"]


def test_mysql_84_behind_a_proxy_that_requires_iam_and_tls(production: Synth) -> None:
    (db,) = production.resources(STACK, "AWS::RDS::DBInstance").values()
    assert db["Properties"]["Engine"] == "mysql"
    assert db["Properties"]["EngineVersion"].startswith("8.4")
    assert db["Properties"]["EnableIAMDatabaseAuthentication"] is True
    (proxy,) = production.resources(STACK, "AWS::RDS::DBProxy").values()
    assert proxy["Properties"]["RequireTLS"] is True
    assert [auth["IAMAuth"] for auth in proxy["Properties"]["Auth"]] == ["REQUIRED"]
    url = functions(production)["orders"]["Environment"]["Variables"]["CLOUDMALL_DATABASE_URL"]
    head, proxy_ref, tail = url["Fn::Join"][1]
    assert head == "mysql://cloudmall@"  # a user, no password: the IAM token is the password
    assert proxy_ref["Fn::GetAtt"][1] == "Endpoint" and "ssl_ca=" in tail


def test_each_function_may_connect_as_the_shop_user_through_the_proxy(
    production: Synth,
) -> None:
    roles = {}
    for resource in production.resources(STACK, "AWS::IAM::Policy").values():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == "rds-db:connect":
                role = resource["Properties"]["Roles"][0]["Ref"]
                roles[role] = json.dumps(statement["Resource"])
    # three functions, the migration, the mail function, the sweeper and the reconciler
    assert len(roles) == 7
    assert all("dbuser:" in resource and "/cloudmall" in resource for resource in roles.values())


def secrets_readable_by(synth: Synth, role: str) -> set[str]:
    """The secrets (as <LogicalId>) the policies of `role` allow GetSecretValue on."""
    readable = set()
    for resource in synth.resources(STACK, "AWS::IAM::Policy").values():
        props = resource["Properties"]
        if {"Ref": role} not in props["Roles"]:
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            if "secretsmanager:GetSecretValue" in actions:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                readable.update(rendered(r) for r in resources)
    return readable


@pytest.mark.parametrize("synth_fixture", ["production", "on_dynamodb"])
def test_every_function_may_read_each_secret_its_environment_names(
    request: pytest.FixtureRequest, synth_fixture: str
) -> None:
    """A secret's ARN in a function's environment is one it reads at start: its role may read
    exactly those, for every function, scheduled ones included (one it cannot read fails on its
    first run; one it may read but does not name is a grant too many)."""
    synth: Synth = request.getfixturevalue(synth_fixture)
    for name, props in functions(synth).items():
        env = props["Environment"]["Variables"]
        # the app's settings refuse to start without the key
        assert "CLOUDMALL_SECRET_KEY_SECRET_ARN" in env, name
        named = {rendered(value) for key, value in env.items() if key.endswith("_SECRET_ARN")}
        readable = secrets_readable_by(synth, props["Role"]["Fn::GetAtt"][0])
        assert readable == named, name


def test_migrations_run_once_per_deploy_by_a_trigger(production: Synth) -> None:
    (trigger,) = production.resources(STACK, "Custom::Trigger").values()
    assert "migrate" in json.dumps(trigger["Properties"]["HandlerArn"]).lower()
    for name in FUNCTIONS:
        depends = production.templates[STACK]["Resources"][logical_id_of(production, name)]
        assert any("migrate" in dep.lower() for dep in depends.get("DependsOn", []))


def test_alarms_for_errors_throttles_p99_and_proxy_connections(production: Synth) -> None:
    alarms = production.resources(STACK, "AWS::CloudWatch::Alarm").values()
    kinds = sorted(
        (alarm["Properties"].get("MetricName"), alarm["Properties"].get("ExtendedStatistic"))
        for alarm in alarms
    )
    # the three, the mail function, the sweeper and the reconciler
    assert kinds.count(("Errors", None)) == 6
    assert kinds.count(("Throttles", None)) == 6
    assert kinds.count(("Duration", "p99")) == 6
    assert ("DatabaseConnections", None) in kinds
    assert all(alarm["Properties"]["AlarmActions"] for alarm in alarms)


def test_log_groups_keep_a_month(production: Synth) -> None:
    groups = production.resources(STACK, "AWS::Logs::LogGroup").values()
    assert groups and all(g["Properties"].get("RetentionInDays") == 30 for g in groups)


def test_cloudfront_sends_api_calls_to_the_api_and_the_rest_to_s3(production: Synth) -> None:
    (distribution,) = production.resources(STACK, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    api = origins[behaviors["/api/*"]["TargetOriginId"]]
    assert "execute-api" in json.dumps(api["DomainName"])
    assert set(behaviors["/api/*"]["AllowedMethods"]) >= {"POST", "PATCH", "DELETE", "PUT"}
    for target in (
        behaviors["/media/*"]["TargetOriginId"],
        config["DefaultCacheBehavior"]["TargetOriginId"],
    ):
        assert origins[target]["OriginAccessControlId"]  # S3 through origin access control
    assert config["DefaultRootObject"] == "index.html"


def test_no_nat_gateway(production: Synth) -> None:
    assert production.resources(STACK, "AWS::EC2::NatGateway") == {}
    endpoints = production.resources(STACK, "AWS::EC2::VPCEndpoint").values()
    services = sorted(rendered(e["Properties"]["ServiceName"]) for e in endpoints)
    # S3 (gateway), Secrets Manager and SES's SMTP (interface)
    assert sorted(name.rsplit(".", 1)[-1] for name in services) == [
        "email-smtp",
        "s3",
        "secretsmanager",
    ]


def test_the_functions_answer_the_host_cloudfront_sends_them(production: Synth) -> None:
    """CloudFront forwards every viewer header but Host: the API's own name reaches the app."""
    (distribution,) = production.resources(STACK, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    (api_behavior,) = (b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*")
    all_viewer_except_host = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    assert api_behavior["OriginRequestPolicyId"] == all_viewer_except_host
    api_domain = rendered(origins[api_behavior["TargetOriginId"]]["DomainName"])
    (api_id,) = production.resources(STACK, "AWS::ApiGatewayV2::Api")
    assert api_domain == f"<{api_id}>.execute-api.ap-northeast-2.amazonaws.com"
    shop_functions = {k: v for k, v in functions(production).items() if k in FUNCTIONS}
    assert set(shop_functions) == set(FUNCTIONS)
    for props in shop_functions.values():
        hosts = props["Environment"]["Variables"]["CLOUDMALL_ALLOWED_HOSTS"]
        assert host_names(hosts) == [api_domain]


def secret_of(synth: Synth, description_part: str) -> str:
    for logical_id, secret in synth.resources(STACK, "AWS::SecretsManager::Secret").items():
        if description_part in secret["Properties"].get("Description", ""):
            return logical_id
    raise KeyError(description_part)


def test_cloudfront_proves_itself_to_the_api_with_a_secret_header(production: Synth) -> None:
    (distribution,) = production.resources(STACK, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    (api_behavior,) = (b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*")
    headers = {
        h["HeaderName"]: rendered(h["HeaderValue"])
        for h in origins[api_behavior["TargetOriginId"]]["CustomOriginConfig"].get(
            "OriginCustomHeaders", []
        )
        or origins[api_behavior["TargetOriginId"]].get("OriginCustomHeaders", [])
    }
    secret = secret_of(production, "X-Origin-Verify")
    # A dynamic reference CloudFormation resolves at deploy: the value is in no template.
    assert headers == {
        "X-Origin-Verify": f"{{{{resolve:secretsmanager:<{secret}>:SecretString:::}}}}"
    }
    for name, props in functions(production).items():
        env = props["Environment"]["Variables"]
        if name in FUNCTIONS:
            assert rendered(env["CLOUDMALL_ORIGIN_VERIFY_SECRET_ARN"]) == f"<{secret}>"
            assert env["CLOUDMALL_CLIENT_ADDRESS_HEADER"] == "CloudFront-Viewer-Address"
        else:  # not behind the API: no header to check, no address to take
            assert "CLOUDMALL_CLIENT_ADDRESS_HEADER" not in env


def test_the_mail_function_runs_every_minute_with_smtp_from_a_secret(production: Synth) -> None:
    mail = functions(production)["mail"]
    env = mail["Environment"]["Variables"]
    assert "CLOUDMALL_SMTP_URL" not in env  # the URL (and its password) only in the secret
    assert rendered(env["CLOUDMALL_SMTP_URL_SECRET_ARN"]) == f"<{secret_of(production, 'SMTP')}>"
    (distribution,) = production.resources(STACK, "AWS::CloudFront::Distribution")
    assert rendered(env["CLOUDMALL_PUBLIC_URL"]) == f"https://<{distribution}.DomainName>"
    assert mail["VpcConfig"]["SubnetIds"] and mail["MemorySize"] == 256
    assert schedule_of(production, MAIL_HANDLER) == "rate(1 minute)"


def schedule_of(synth: Synth, handler: str) -> str:
    """The schedule of the one EventBridge rule invoking the function with `handler`, once."""
    [function_id] = [
        logical_id
        for logical_id, resource in synth.resources(STACK, "AWS::Lambda::Function").items()
        if resource["Properties"].get("Handler") == handler
    ]
    [rule] = [
        rule["Properties"]
        for rule in synth.resources(STACK, "AWS::Events::Rule").values()
        if any(rendered(t["Arn"]) == f"<{function_id}.Arn>" for t in rule["Properties"]["Targets"])
    ]
    (target,) = rule["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0  # the next run does the rest
    return str(rule["ScheduleExpression"])


@pytest.mark.parametrize("synth_fixture", ["production", "on_dynamodb"])
def test_the_sweeper_releases_expired_reservations_every_minute(
    request: pytest.FixtureRequest, synth_fixture: str
) -> None:
    """Stock reservations past their time are released by a scheduled function, on the proxied
    database and on the table alike (a server's sweeper runs in its process)."""
    synth: Synth = request.getfixturevalue(synth_fixture)
    sweep = functions(synth)["sweep"]
    assert schedule_of(synth, SWEEP_HANDLER) == "rate(1 minute)"
    assert sweep["MemorySize"] == 256 and sweep["Timeout"] < 60
    env = sweep["Environment"]["Variables"]
    assert env["CLOUDMALL_RUNTIME"] == "function" and "CLOUDMALL_FUNCTION" not in env
    assert "CLOUDMALL_SMTP_URL_SECRET_ARN" not in env  # it sends no mail


@pytest.mark.parametrize("synth_fixture", ["production", "on_dynamodb"])
def test_the_reconciler_settles_the_payments_left_on_their_way_every_minute(
    request: pytest.FixtureRequest, synth_fixture: str
) -> None:
    """Payments a payer's function left `pending` or `charged` are settled by a scheduled
    function, on the proxied database and on the table alike (a server's reconciler runs in
    its process), after the migration and with no retry (the next minute's run does the rest)."""
    synth: Synth = request.getfixturevalue(synth_fixture)
    reconcile = functions(synth)["reconcile"]
    assert schedule_of(synth, RECONCILE_HANDLER) == "rate(1 minute)"
    assert reconcile["MemorySize"] == 256 and reconcile["Timeout"] < 60
    env = reconcile["Environment"]["Variables"]
    assert env["CLOUDMALL_RUNTIME"] == "function" and "CLOUDMALL_FUNCTION" not in env
    assert "CLOUDMALL_SMTP_URL_SECRET_ARN" not in env  # it sends no mail
    assert "CLOUDMALL_SECRET_KEY_SECRET_ARN" in env  # the settings need the key
