"""The 3-tier ShoppingMall stack, asserted on its synthesized template."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match
from infra_synth import ALARM_EMAIL, CDN_CERTIFICATE_ARN, CERTIFICATE_ARN, Synth, host_names

STACK = "ShoppingMall"


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["Properties"]


def group_launch_template(synth: Synth) -> tuple[str, dict[str, Any]]:
    """The Auto Scaling group's launch template (the migrator has its own)."""
    _, group = only(synth.resources(STACK, "AWS::AutoScaling::AutoScalingGroup"))
    template_id = props(group)["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    return template_id, synth.templates[STACK]["Resources"][template_id]


def security_group_id(synth: Synth, description_start: str) -> str:
    groups = {
        logical_id: r
        for logical_id, r in synth.resources(STACK, "AWS::EC2::SecurityGroup").items()
        if props(r)["GroupDescription"].startswith(description_start)
    }
    logical_id, _ = only(groups)
    return logical_id


def literal_text(value: Any) -> str:
    """The literal parts of a (possibly Fn::Join-ed) CloudFormation string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            return "".join(literal_text(part) for part in value["Fn::Join"][1])
        if "Fn::Base64" in value:
            return literal_text(value["Fn::Base64"])
        return ""
    if isinstance(value, list):
        return "".join(literal_text(v) for v in value)
    return str(value)


# ---- network ----


def test_vpc_spans_two_zones_with_public_app_and_isolated_subnets(production: Synth) -> None:
    subnets = production.resources(STACK, "AWS::EC2::Subnet")
    assert len(subnets) == 6
    zones = {props(s)["AvailabilityZone"] for s in subnets.values()}
    assert zones == {"ap-northeast-2a", "ap-northeast-2c"}
    kinds = {
        tag["Value"]
        for s in subnets.values()
        for tag in props(s)["Tags"]
        if tag["Key"] == "aws-cdk:subnet-name"
    }
    assert kinds == {"public", "private-app", "isolated-db"}
    template = production.template(STACK)
    template.resource_count_is("AWS::EC2::NatGateway", 2)
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"ServiceName": Match.object_like({}), "VpcEndpointType": "Gateway"},
    )
    endpoints = production.resources(STACK, "AWS::EC2::VPCEndpoint").values()
    gateway = [e for e in endpoints if props(e)["VpcEndpointType"] == "Gateway"]
    assert [".s3" in literal_text(props(e)["ServiceName"]) for e in gateway] == [True]
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"ResourceType": "VPC", "TrafficType": "ALL"}
    )


def test_instances_reach_ssm_secrets_and_logs_through_interface_endpoints(
    production: Synth,
) -> None:
    """Boot (SSM, Secrets Manager), Session Manager and the CloudWatch agent without NAT."""
    endpoints = [
        props(e)
        for e in production.resources(STACK, "AWS::EC2::VPCEndpoint").values()
        if props(e)["VpcEndpointType"] == "Interface"
    ]
    services = {literal_text(e["ServiceName"]).rsplit(".", 1)[1] for e in endpoints}
    assert services == {"ssm", "ssmmessages", "ec2messages", "secretsmanager", "logs", "monitoring"}
    assert all(e["PrivateDnsEnabled"] is True for e in endpoints)
    assert all("privateapp" in ref["Ref"] for e in endpoints for ref in e["SubnetIds"])
    # HTTPS to them from the app tier only, not the whole VPC
    app_sg = security_group_id(production, "cloudmall app instances")
    endpoint_groups = {ref["Fn::GetAtt"][0] for e in endpoints for ref in e["SecurityGroupIds"]}
    for group in endpoint_groups:
        ingress = props(production.templates[STACK]["Resources"][group]).get(
            "SecurityGroupIngress", []
        )
        assert ingress == []
        rules = [
            props(r)
            for r in production.resources(STACK, "AWS::EC2::SecurityGroupIngress").values()
            if props(r)["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
        ]
        assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in rules] == [
            (443, {"Fn::GetAtt": [app_sg, "GroupId"]})
        ]


# ---- data ----


def test_rds_mysql_is_multi_az_encrypted_backed_up_and_protected(production: Synth) -> None:
    _, db = only(production.resources(STACK, "AWS::RDS::DBInstance"))
    p = props(db)
    assert p["Engine"] == "mysql"
    assert p["EngineVersion"] == "8.4"  # the LTS major only: RDS picks and upgrades the minor
    assert p["AutoMinorVersionUpgrade"] is True
    assert p["MultiAZ"] is True
    assert p["StorageEncrypted"] is True
    assert p["BackupRetentionPeriod"] >= 7
    assert p["DeletionProtection"] is True
    assert p["PubliclyAccessible"] is False
    assert db["DeletionPolicy"] == "Snapshot"
    # credentials generated into Secrets Manager, referenced dynamically, never literal
    assert "{{resolve:secretsmanager:" in literal_text(p["MasterUserPassword"])
    secrets = production.resources(STACK, "AWS::SecretsManager::Secret")
    assert any(
        "GenerateSecretString" in props(s)
        and "username" in props(s)["GenerateSecretString"].get("SecretStringTemplate", "")
        for s in secrets.values()
    )
    assert set(p["EnableCloudwatchLogsExports"]) == {"error", "slowquery"}


def test_database_accepts_only_the_app_security_group(production: Synth) -> None:
    db_sg = security_group_id(production, "cloudmall database")
    app_sg = security_group_id(production, "cloudmall app instances")
    _, db = only(production.resources(STACK, "AWS::RDS::DBInstance"))
    assert props(db)["VPCSecurityGroups"] == [{"Fn::GetAtt": [db_sg, "GroupId"]}]
    # no inline rules at all on the database group
    db_group = production.templates[STACK]["Resources"][db_sg]
    assert "SecurityGroupIngress" not in props(db_group)
    ingress = [
        props(r)
        for r in production.resources(STACK, "AWS::EC2::SecurityGroupIngress").values()
        if props(r)["GroupId"] == {"Fn::GetAtt": [db_sg, "GroupId"]}
    ]
    assert len(ingress) == 1
    assert ingress[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": [app_sg, "GroupId"]}
    assert ingress[0]["FromPort"] == ingress[0]["ToPort"] == 3306
    assert "CidrIp" not in ingress[0]


def test_cache_is_multi_az_with_failover_and_encrypted(production: Synth) -> None:
    _, group = only(production.resources(STACK, "AWS::ElastiCache::ReplicationGroup"))
    p = props(group)
    assert p["Engine"] == "redis"
    assert p["NumCacheClusters"] >= 2
    assert p["AutomaticFailoverEnabled"] is True
    assert p["MultiAZEnabled"] is True
    assert p["AtRestEncryptionEnabled"] is True
    assert p["TransitEncryptionEnabled"] is True
    assert "{{resolve:secretsmanager:" in literal_text(p["AuthToken"])
    # evicting only keys with a TTL (every cache entry's), stated rather than left to a default
    groups = production.resources(STACK, "AWS::ElastiCache::ParameterGroup")
    parameters_id, parameters = only(groups)
    assert p["CacheParameterGroupName"] == {"Ref": parameters_id}
    assert props(parameters)["Properties"] == {"maxmemory-policy": "volatile-lru"}
    cache_sg = security_group_id(production, "cloudmall cache")
    app_sg = security_group_id(production, "cloudmall app instances")
    assert p["SecurityGroupIds"] == [{"Fn::GetAtt": [cache_sg, "GroupId"]}]
    ingress = [
        props(r)
        for r in production.resources(STACK, "AWS::EC2::SecurityGroupIngress").values()
        if props(r)["GroupId"] == {"Fn::GetAtt": [cache_sg, "GroupId"]}
    ]
    assert [i["SourceSecurityGroupId"] for i in ingress] == [{"Fn::GetAtt": [app_sg, "GroupId"]}]
    # its subnet group is the isolated data subnets
    _, subnet_group = only(production.resources(STACK, "AWS::ElastiCache::SubnetGroup"))
    assert all("isolateddb" in ref["Ref"] for ref in props(subnet_group)["SubnetIds"])


# ---- web tier ----


def test_auto_scaling_group_follows_the_guide(production: Synth) -> None:
    _, group = only(production.resources(STACK, "AWS::AutoScaling::AutoScalingGroup"))
    p = props(group)
    assert (p["MinSize"], p["MaxSize"]) == ("2", "10")
    # no desired capacity: a deployment must not reset what target tracking scaled to
    assert "DesiredCapacity" not in p
    assert p["HealthCheckType"] == "ELB"
    assert all("privateapp" in ref["Ref"] for ref in p["VPCZoneIdentifier"])
    _, template = group_launch_template(production)
    data = props(template)["LaunchTemplateData"]
    assert data["InstanceType"] == "t3.medium"
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (mapping,) = data["BlockDeviceMappings"]
    assert mapping["Ebs"]["Encrypted"] is True
    assert mapping["Ebs"]["VolumeType"] == "gp3"
    # an AL2023 image from the public SSM parameter, no lookup
    assert "al2023" in data["ImageId"]["Ref"]


def test_scaling_targets_70_percent_cpu(production: Synth) -> None:
    production.template(STACK).has_resource_properties(
        "AWS::AutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ASGAverageCPUUtilization"
                },
                "TargetValue": 70,
            },
        },
    )


def test_target_group_checks_livez_and_drains_quickly(production: Synth) -> None:
    """Liveness, not readiness: a database failover must not fail every target at once (the
    reliability suite shows /livez stays 200 through a database outage)."""
    _, group = only(production.resources(STACK, "AWS::ElasticLoadBalancingV2::TargetGroup"))
    p = props(group)
    assert p["HealthCheckPath"] == "/livez"
    assert p["Port"] == 8000
    attributes = {a["Key"]: a["Value"] for a in p["TargetGroupAttributes"]}
    assert int(attributes["deregistration_delay.timeout_seconds"]) <= 30


def test_alb_serves_https_and_redirects_http(production: Synth) -> None:
    listeners = {
        props(r)["Port"]: props(r)
        for r in production.resources(STACK, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": CERTIFICATE_ARN}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"] == {
        "Port": "443",
        "Protocol": "HTTPS",
        "StatusCode": "HTTP_301",
    }


def test_the_alb_never_forwards_metrics(production: Synth) -> None:
    """/metrics is answered 404 by the ALB itself, ahead of the default forward to the app."""
    rules = production.resources(STACK, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    blocking = [
        props(rule)
        for rule in rules
        if any(
            "/metrics" in condition.get("PathPatternConfig", {}).get("Values", [])
            for condition in props(rule)["Conditions"]
        )
    ]
    assert len(blocking) == 1
    (action,) = blocking[0]["Actions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "404"
    priorities = [int(props(rule)["Priority"]) for rule in rules]
    assert int(blocking[0]["Priority"]) == min(priorities)  # before any other rule
    for rule in rules:  # no other rule forwards a path pattern that covers /metrics
        patterns = [
            value
            for condition in props(rule)["Conditions"]
            for value in condition.get("PathPatternConfig", {}).get("Values", [])
        ]
        assert props(rule) is blocking[0] or not any(p in ("/*", "*", "/m*") for p in patterns)


def test_alb_writes_access_logs_to_the_log_bucket(production: Synth) -> None:
    _, alb = only(production.resources(STACK, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    attributes = {a["Key"]: a["Value"] for a in props(alb)["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogsBucketCD784A59"}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_waf_has_managed_rules_and_a_rate_limit_and_guards_the_alb(production: Synth) -> None:
    acl_id, acl = only(production.resources(STACK, "AWS::WAFv2::WebACL"))
    p = props(acl)
    assert p["Scope"] == "REGIONAL"
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in p["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
    } <= managed
    rate = [r for r in p["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert len(rate) == 1
    assert rate[0]["Action"] == {"Block": {}}
    # behind CloudFront every connection is CloudFront's: count per client (X-Forwarded-For)
    statement = rate[0]["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "FORWARDED_IP"
    assert statement["ForwardedIPConfig"]["HeaderName"] == "X-Forwarded-For"
    _, association = only(production.resources(STACK, "AWS::WAFv2::WebACLAssociation"))
    alb_id, _ = only(production.resources(STACK, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    assert props(association) == {
        "ResourceArn": {"Ref": alb_id},
        "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]},
    }


def test_app_security_group_takes_the_app_port_from_the_alb_only(production: Synth) -> None:
    app_sg = security_group_id(production, "cloudmall app instances")
    alb_sg = security_group_id(production, "cloudmall ALB")
    ingress = [
        props(r)
        for r in production.resources(STACK, "AWS::EC2::SecurityGroupIngress").values()
        if props(r)["GroupId"] == {"Fn::GetAtt": [app_sg, "GroupId"]}
    ]
    assert ingress == [
        {
            "Description": "cloudmall serve from the ALB",
            "FromPort": 8000,
            "GroupId": {"Fn::GetAtt": [app_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [alb_sg, "GroupId"]},
            "ToPort": 8000,
        }
    ]


# ---- user data: the project's source, env file from SSM + Secrets Manager, systemd ----


def user_data_text(synth: Synth) -> str:
    _, template = group_launch_template(synth)
    return literal_text(props(template)["LaunchTemplateData"]["UserData"])


def test_user_data_pulls_the_image_and_runs_it_without_pip(production: Synth) -> None:
    text = user_data_text(production)
    assert "pip install" not in text and "python3.11" not in text  # no PyPI at boot: one image
    assert "dnf install -y docker " in text
    assert "aws ecr get-login-password --region ap-northeast-2 | /usr/bin/docker login" in text
    assert "/usr/bin/docker pull --quiet " in text
    assert "cloudmall migrate" not in text  # once per deployment, by the migrator
    assert "/usr/bin/docker run --rm --network host --read-only --tmpfs /tmp" in text
    assert "--volume /etc/cloudmall/rds-ca.pem:/etc/cloudmall/rds-ca.pem:ro" in text
    assert "--env CLOUDMALL_DATABASE_URL --env CLOUDMALL_ENVIRONMENT" in text
    assert "Environment=CLOUDMALL_PORT=8000\nEnvironment=CLOUDMALL_WORKERS=2" in text
    assert "EnvironmentFile=/etc/cloudmall/cloudmall.env" in text
    assert "ExecStop=/usr/bin/docker stop --time 25 cloudmall" in text  # SIGTERM, then drain
    assert "useradd --system --uid 10001" in text  # the image's user owns what it writes
    assert "install -d -m 0750 -o cloudmall -g cloudmall /var/lib/cloudmall" in text
    assert "http://127.0.0.1:8000/readyz" in text
    assert "/opt/aws/bin/cfn-signal" in text
    assert "amazon-cloudwatch-agent" in text
    assert "mem_used_percent" in text
    assert "${aws:AutoScalingGroupName}" in text


def test_the_instances_run_the_dockerfiles_image_from_ecr(production: Synth) -> None:
    _, template = group_launch_template(production)
    raw = json.dumps(props(template)["LaunchTemplateData"]["UserData"])
    assets = json.loads((production.outdir / "ShoppingMall.assets.json").read_text())
    (image_hash,) = assets["dockerImages"]
    (image,) = assets["dockerImages"][image_hash]["destinations"].values()
    assert image["imageTag"] == image_hash and f":{image_hash}" in raw
    source = assets["dockerImages"][image_hash]["source"]
    assert source["dockerBuildTarget"] == "runtime"
    staged = production.outdir / source["directory"]
    assert (staged / "Dockerfile").is_file() and (
        staged / "requirements" / "runtime.lock"
    ).is_file()
    assert not (staged / ".venv").exists() and not (staged / "cdk.out").exists()
    assert not (staged / "tests").exists()  # a test change is not a new release


def test_the_client_address_comes_from_the_alb_forwarded_header(production: Synth) -> None:
    _, template = group_launch_template(production)
    parts = props(template)["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    at = next(i for i, part in enumerate(parts) if str(part).endswith("FORWARDED_ALLOW_IPS="))
    (vpc_id,) = production.resources(STACK, "AWS::EC2::VPC")
    assert parts[at + 1] == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}  # only the ALB reaches 8000
    assert str(parts[at + 2]).startswith("\nExecStartPre=")
    assert "--env FORWARDED_ALLOW_IPS" in user_data_text(production)


def test_user_data_holds_names_not_secrets(production: Synth) -> None:
    _, template = group_launch_template(production)
    raw = json.dumps(props(template)["LaunchTemplateData"]["UserData"])
    assert "{{resolve:" not in raw  # no dynamic reference resolved into the template
    # the secrets appear only as ARNs (Refs) for the boot script to fetch with the role
    secret_ids = set(production.resources(STACK, "AWS::SecretsManager::Secret")) | set(
        production.resources(STACK, "AWS::SecretsManager::SecretTargetAttachment")
    )
    referenced = {ref for ref in secret_ids if json.dumps({"Ref": ref}) in raw}
    assert len(referenced) == 3  # the secret key, the database secret, the cache AUTH token
    boot_json_start = user_data_text(production).index("cat > /etc/cloudmall/boot.json")
    assert "chmod 0600 /etc/cloudmall/boot.json" in user_data_text(production)[boot_json_start:]
    # EC2 refuses user data over 16 KiB (before base64); keep a margin for the tokens
    assert len(user_data_text(production).encode()) < 14 * 1024


def test_settings_are_ssm_parameters_under_one_path(production: Synth) -> None:
    parameters = {
        props(p)["Name"].rsplit("/", 1)[1]: props(p)
        for p in production.resources(STACK, "AWS::SSM::Parameter").values()
    }
    assert set(parameters) == {
        "environment",
        "database-url",
        "cache-url",
        "storage-url",
        "backup-storage-url",
        "client-address-header",
        "cdn-base-url",
        "cors-origins",
        "lake-url",
        "allowed-hosts",
        "token-algorithm",
    }
    assert parameters["environment"]["Value"] == "production"
    assert parameters["token-algorithm"]["Value"] == "HS256"  # docs/security.md, Access tokens
    # behind CloudFront the per-client limits count the viewer, not the edge server
    assert parameters["client-address-header"]["Value"] == "CloudFront-Viewer-Address"
    assert literal_text(parameters["database-url"]["Value"]).startswith("mysql+asyncmy://")
    # TLS to the database, verified against the RDS CA bundle the boot script downloads
    assert literal_text(parameters["database-url"]["Value"]).endswith(
        ":3306/cloudmall?ssl_ca=/etc/cloudmall/rds-ca.pem"
    )
    assert "truststore.pki.rds.amazonaws.com" in user_data_text(production)
    assert literal_text(parameters["cache-url"]["Value"]).startswith("rediss://")
    assert literal_text(parameters["cache-url"]["Value"]).endswith(":6379/0")
    assert literal_text(parameters["storage-url"]["Value"]).startswith("s3://")
    # images under media/ (what CloudFront serves), backups in their own bucket
    assert "Ref" in json.dumps(parameters["storage-url"]["Value"])
    assert "MediaBucket" in json.dumps(parameters["storage-url"]["Value"])
    assert "/media?region=" in literal_text(parameters["storage-url"]["Value"])
    assert "BackupsBucket" in json.dumps(parameters["backup-storage-url"]["Value"])
    assert literal_text(parameters["storage-url"]["Value"]).endswith("?region=ap-northeast-2")
    assert parameters["cdn-base-url"]["Value"] == "https://cdn.shop.example.com"
    assert json.loads(parameters["cors-origins"]["Value"]) == ["https://cdn.shop.example.com"]
    assert all(p["Type"] == "String" for p in parameters.values())


def settings_parameter(synth: Synth, name: str) -> Any:
    (value,) = (
        props(p)["Value"]
        for p in synth.resources(STACK, "AWS::SSM::Parameter").values()
        if props(p)["Name"].endswith(f"/{name}")
    )
    return value


def test_the_app_answers_the_names_cloudfront_forwards(production: Synth, defaults: Synth) -> None:
    """CloudFront forwards the viewer's Host to the ALB, so the app sees the distribution's
    names; the ALB's own name never arrives (the ALB refuses requests without the
    origin-verify header CloudFront adds)."""
    for synth, names in ((production, ["cdn.shop.example.com"]), (defaults, [])):
        distribution_id, distribution = only(
            synth.resources(STACK, "AWS::CloudFront::Distribution")
        )
        config = props(distribution)["DistributionConfig"]
        all_viewer_and_cloudfront = "33f36d7e-f396-46d9-90e0-52428a34d9dc"  # forwards Host
        assert config["DefaultCacheBehavior"]["OriginRequestPolicyId"] == (
            all_viewer_and_cloudfront
        )
        assert host_names(settings_parameter(synth, "allowed-hosts")) == [
            f"<{distribution_id}.DomainName>",
            *names,
        ]


def test_an_internal_alb_answers_its_own_name_and_the_names_pointed_at_it(
    internal: Synth,
) -> None:
    alb_id, _ = only(internal.resources(STACK, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    assert host_names(settings_parameter(internal, "allowed-hosts")) == [
        f"<{alb_id}.DNSName>",
        "shop.example.com",
    ]


# ---- media, CDN, storefront ----


def test_every_bucket_is_private_encrypted_and_tls_only(production: Synth) -> None:
    buckets = production.resources(STACK, "AWS::S3::Bucket")
    assert len(buckets) == 5  # logs, media, backups, lake, lake query results
    policies = {
        props(p)["Bucket"]["Ref"]: props(p)["PolicyDocument"]["Statement"]
        for p in production.resources(STACK, "AWS::S3::BucketPolicy").values()
    }
    for logical_id, bucket in buckets.items():
        p = props(bucket)
        assert p["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        denies = [
            s
            for s in policies[logical_id]
            if s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies, f"{logical_id} does not refuse plain HTTP"
        assert bucket["DeletionPolicy"] == "Retain"


def test_media_bucket_is_versioned_and_read_by_cloudfront_through_oac(production: Synth) -> None:
    media = production.templates[STACK]["Resources"]["MediaBucket4022EBBF"]
    assert props(media)["VersioningConfiguration"] == {"Status": "Enabled"}
    oac_id, oac = only(production.resources(STACK, "AWS::CloudFront::OriginAccessControl"))
    config = props(oac)["OriginAccessControlConfig"]
    assert config["OriginAccessControlOriginType"] == "s3"
    assert config["SigningBehavior"] == "always"
    assert config["SigningProtocol"] == "sigv4"
    _, distribution = only(production.resources(STACK, "AWS::CloudFront::Distribution"))
    d = props(distribution)["DistributionConfig"]
    s3_origins = [o for o in d["Origins"] if "S3OriginConfig" in o]
    assert s3_origins and all(
        o["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]} for o in s3_origins
    )
    policy = next(
        props(p)["PolicyDocument"]["Statement"]
        for p in production.resources(STACK, "AWS::S3::BucketPolicy").values()
        if props(p)["Bucket"] == {"Ref": "MediaBucket4022EBBF"}
    )
    cloudfront_reads = [
        s for s in policy if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert cloudfront_reads and all(s["Action"] == "s3:GetObject" for s in cloudfront_reads)
    assert all("AWS:SourceArn" in s["Condition"]["StringEquals"] for s in cloudfront_reads)


def test_cloudfront_enforces_tls_12_security_headers_and_logs(production: Synth) -> None:
    _, distribution = only(production.resources(STACK, "AWS::CloudFront::Distribution"))
    d = props(distribution)["DistributionConfig"]
    assert d["ViewerCertificate"] == {
        "AcmCertificateArn": CDN_CERTIFICATE_ARN,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    assert d["Aliases"] == ["cdn.shop.example.com"]
    assert d["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    headers_id, headers = only(
        production.resources(STACK, "AWS::CloudFront::ResponseHeadersPolicy")
    )
    for behavior in d["CacheBehaviors"]:  # the bucket's two prefixes
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": headers_id}
    security = props(headers)["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert d["Logging"]["Prefix"] == "cloudfront/"


def test_storefront_is_deployed_under_static(production: Synth) -> None:
    _, deployment = only(production.resources(STACK, "Custom::CDKBucketDeployment"))
    p = props(deployment)
    assert p["DestinationBucketName"] == {"Ref": "MediaBucket4022EBBF"}
    assert p["DestinationBucketKeyPrefix"] == "static/"
    assert p["DistributionPaths"] == ["/static/*"]
    assert p["Prune"] is True


# ---- backup ----


def test_backups_bucket_moves_to_cheaper_storage_by_age(production: Synth) -> None:
    backups = production.templates[STACK]["Resources"]["BackupsBucket2936A3AA"]
    (rule,) = props(backups)["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER", "TransitionInDays": 90},
    ]


def test_database_has_a_daily_aws_backup_plan(production: Synth) -> None:
    _, plan = only(production.resources(STACK, "AWS::Backup::BackupPlan"))
    (rule,) = props(plan)["BackupPlan"]["BackupPlanRule"]
    assert rule["Lifecycle"]["DeleteAfterDays"] >= 35
    assert rule["ScheduleExpression"].startswith("cron(")
    _, selection = only(production.resources(STACK, "AWS::Backup::BackupSelection"))
    resources = props(selection)["BackupSelection"]["Resources"]
    assert len(resources) == 1
    assert "DatabaseInstance" in json.dumps(resources)
    _, vault = only(production.resources(STACK, "AWS::Backup::BackupVault"))
    assert vault["DeletionPolicy"] == "Retain"


# ---- monitoring ----


def test_every_alarm_notifies_the_encrypted_topic(production: Synth) -> None:
    topic_id, topic = only(production.resources(STACK, "AWS::SNS::Topic"))
    assert "KmsMasterKeyId" in props(topic)
    alarms = production.resources(STACK, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 5
    for logical_id, alarm in alarms.items():
        assert props(alarm)["AlarmActions"] == [{"Ref": topic_id}], logical_id
        assert props(alarm)["OKActions"] == [{"Ref": topic_id}], logical_id
    _, subscription = only(production.resources(STACK, "AWS::SNS::Subscription"))
    assert props(subscription) == {
        "Endpoint": ALARM_EMAIL,
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
    }
    # CloudWatch may use the topic's key
    _, key = only(production.resources(STACK, "AWS::KMS::Key"))
    assert props(key)["EnableKeyRotation"] is True
    statements = props(key)["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and "kms:GenerateDataKey*" in s["Action"]
        for s in statements
    )


def _alarm_with(production: Synth, predicate) -> dict[str, Any]:
    found = [
        props(a)
        for a in production.resources(STACK, "AWS::CloudWatch::Alarm").values()
        if predicate(props(a))
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_guide_alarms_are_there(production: Synth) -> None:
    cpu = _alarm_with(
        production,
        lambda a: a.get("MetricName") == "CPUUtilization" and a.get("Namespace") == "AWS/EC2",
    )
    assert cpu["Threshold"] == 80
    assert cpu["ComparisonOperator"] == "GreaterThanThreshold"
    memory = _alarm_with(production, lambda a: a.get("MetricName") == "mem_used_percent")
    assert memory["Namespace"] == "CWAgent"
    db_cpu = _alarm_with(
        production,
        lambda a: a.get("MetricName") == "CPUUtilization" and a.get("Namespace") == "AWS/RDS",
    )
    assert db_cpu["Threshold"] == 80
    storage = _alarm_with(production, lambda a: a.get("MetricName") == "FreeStorageSpace")
    assert storage["ComparisonOperator"] == "LessThanThreshold"
    five_xx = _alarm_with(production, lambda a: "5XX" in json.dumps(a.get("Metrics", "")).upper())
    assert five_xx["ComparisonOperator"] == "GreaterThanThreshold"
    hit_rate = _alarm_with(production, lambda a: "CacheHits" in json.dumps(a.get("Metrics", "")))
    assert hit_rate["Threshold"] == 90
    assert hit_rate["ComparisonOperator"] == "LessThanThreshold"
    expression = next(m["Expression"] for m in hit_rate["Metrics"] if "Expression" in m)
    assert expression.startswith("100 * (h1+h2) / (h1+h2 + m1+m2)")


def test_dashboard_has_the_guide_panels(production: Synth) -> None:
    _, dashboard = only(production.resources(STACK, "AWS::CloudWatch::Dashboard"))
    body = literal_text(props(dashboard)["DashboardBody"])
    for needle in (
        '"AWS/EC2","CPUUtilization"',
        '"CWAgent","mem_used_percent"',
        '"AWS/RDS","DatabaseConnections"',
        '"AWS/RDS","ReadLatency"',
        '"AWS/RDS","WriteLatency"',
        "CacheHits",
        "CacheMisses",
        '"AWS/ApplicationELB","RequestCount"',
        "HTTPCode_Target_5XX_Count",
        '"AWS/ApplicationELB","TargetResponseTime"',
        '"stat":"p99"',
    ):
        assert needle in body, needle
