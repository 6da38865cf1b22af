"""The SingleServer stack (the guide's pattern 1)."""

from __future__ import annotations

import json

from infra_synth import HOSTED_ZONE_ID, Synth, host_names

STACK = "SingleServer"


def _one(synth: Synth, type_: str) -> tuple[str, dict]:
    found = synth.resources(STACK, type_)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def test_one_small_instance_with_imdsv2_and_an_encrypted_volume(production: Synth) -> None:
    _, instance = _one(production, "AWS::EC2::Instance")
    p = instance["Properties"]
    assert p["InstanceType"] == "t3.small"
    (mapping,) = p["BlockDeviceMappings"]
    assert mapping["Ebs"]["Encrypted"] is True
    assert mapping["Ebs"]["VolumeType"] == "gp3"
    assert p["DisableApiTermination"] is True
    # require_imdsv2 on an Instance is a launch template with HttpTokens=required
    _, template = _one(production, "AWS::EC2::LaunchTemplate")
    assert template["Properties"]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == (
        "required"
    )
    assert p["LaunchTemplate"]["LaunchTemplateName"]
    assert instance["CreationPolicy"]["ResourceSignal"]["Count"] == 1


def test_elastic_ip_is_attached(production: Synth) -> None:
    eip_id, _ = _one(production, "AWS::EC2::EIP")
    instance_id, _ = _one(production, "AWS::EC2::Instance")
    _, association = _one(production, "AWS::EC2::EIPAssociation")
    assert association["Properties"] == {
        "AllocationId": {"Fn::GetAtt": [eip_id, "AllocationId"]},
        "InstanceId": {"Ref": instance_id},
    }


def test_runs_on_embedded_defaults_with_only_a_secret_key(production: Synth) -> None:
    parameters = production.resources(STACK, "AWS::SSM::Parameter")
    names = {p["Properties"]["Name"].rsplit("/", 1)[1] for p in parameters.values()}
    # no database, cache or storage URL: SQLite + local folder
    assert names == {"environment", "allowed-hosts", "token-algorithm"}
    assert len(production.resources(STACK, "AWS::SecretsManager::Secret")) == 1
    _, instance = _one(production, "AWS::EC2::Instance")
    user_data = str(instance["Properties"]["UserData"])
    assert "Environment=CLOUDMALL_PORT=80" in user_data
    # the image's non-root user binds port 80 on the host's network
    assert "net.ipv4.ip_unprivileged_port_start = 80" in user_data
    # SQLite and media on the instance's disk, in the image's var dir
    assert "--volume /var/lib/cloudmall:/var/lib/cloudmall" in user_data
    assert "pip install" not in user_data
    assert "FORWARDED_ALLOW_IPS" not in user_data  # clients connect directly: their own address


def test_dns_record_when_a_domain_is_given(production: Synth, defaults: Synth) -> None:
    eip_id, _ = _one(production, "AWS::EC2::EIP")
    _, record = _one(production, "AWS::Route53::RecordSet")
    assert record["Properties"] == {
        "HostedZoneId": HOSTED_ZONE_ID,
        "Name": "event.shop.example.com.",
        "ResourceRecords": [{"Ref": eip_id}],
        "TTL": "300",
        "Type": "A",
    }
    assert defaults.resources(STACK, "AWS::Route53::RecordSet") == {}


def test_only_the_web_port_is_open(production: Synth) -> None:
    _, group = _one(production, "AWS::EC2::SecurityGroup")
    (rule,) = group["Properties"]["SecurityGroupIngress"]
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (80, 80, "tcp")


def test_the_data_lives_on_its_own_volume_kept_as_a_snapshot(production: Synth) -> None:
    """SQLite and media survive the instance: their own encrypted volume, snapshotted on delete,
    mounted at the app's state directory before the app starts."""
    volume_id, volume = _one(production, "AWS::EC2::Volume")
    assert volume["DeletionPolicy"] == "Snapshot"
    assert volume["Properties"]["Encrypted"] is True
    assert volume["Properties"]["AvailabilityZone"] == "ap-northeast-2a"
    _, instance = _one(production, "AWS::EC2::Instance")
    assert instance["Properties"]["Volumes"] == [
        {"Device": "/dev/sdf", "VolumeId": {"Ref": volume_id}}
    ]
    user_data = json.dumps(instance["Properties"]["UserData"])
    mount = user_data.index("mount /var/lib/cloudmall")
    assert user_data.index("mkfs.xfs") < mount < user_data.index("systemctl enable --now cloudmall")
    assert "blkid" in user_data  # a volume with a file system is never formatted again


def test_a_newer_public_ami_does_not_replace_the_server(production: Synth, defaults: Synth) -> None:
    """Pinned by context, or resolved by EC2 at launch: the template's ImageId never changes."""
    _, pinned = _one(production, "AWS::EC2::Instance")
    assert pinned["Properties"]["ImageId"] == "ami-0123456789abcdef0"
    _, resolved = _one(defaults, "AWS::EC2::Instance")
    assert resolved["Properties"]["ImageId"] == (
        "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
    )
    assert "Parameters" not in defaults.templates[STACK] or not any(
        "al2023" in name for name in defaults.templates[STACK]["Parameters"]
    )


def test_the_app_answers_its_domain_and_its_address(production: Synth, defaults: Synth) -> None:
    """Visitors use the domain when one is given, else the Elastic IP (the stack's Url)."""
    for synth, domain in ((production, ["event.shop.example.com"]), (defaults, [])):
        eip_id, _ = _one(synth, "AWS::EC2::EIP")
        (value,) = (
            p["Properties"]["Value"]
            for p in synth.resources(STACK, "AWS::SSM::Parameter").values()
            if p["Properties"]["Name"].endswith("/allowed-hosts")
        )
        assert host_names(value) == [*domain, f"<{eip_id}>"]
