"""Boot script for the app instances (Amazon Linux 2023): they run the shop's container image.

The image (the repository's Dockerfile, or ``image_uri`` from context) is pulled from ECR at boot;
nothing is installed from PyPI. The boot renders the env file from SSM and Secrets Manager (with
the image's own Python and boto3) and starts the container under systemd, on the host's network
(the instance role reaches IMDS with a hop limit of 1). ``/usr/local/bin/cloudmall`` runs any other
``cloudmall`` command in the image (the migrator's ``migrate``, the nightly ``backup``). Schema
migrations run once per deployment (``migration.py``), not on every instance of a group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cloudmall_infra.container_config import image_uri_from_context
from cloudmall_infra.image import IMAGE_UID, AppImage, app_image
from cloudmall_infra.nag import acknowledge

ASSETS = Path(__file__).resolve().parent / "assets"

PREFIX = "/opt/cloudmall"
STATE_DIR = "/var/lib/cloudmall"  # the image's var dir: SQLite and media on SingleServer
LOG_DIR = "/var/log/cloudmall"
CONFIG_DIR = "/etc/cloudmall"
ENV_FILE = f"{CONFIG_DIR}/cloudmall.env"
BOOT_JSON = f"{CONFIG_DIR}/boot.json"
APP_LOG = f"{LOG_DIR}/app.log"
CONTAINER = "cloudmall"
DOCKER = "/usr/bin/docker"
# `cloudmall ARGS` in the image, with the settings of the caller's environment (SSM Run Command
# jobs such as the nightly backup run it through systemd-run with the env file)
CLOUDMALL_BIN = "/usr/local/bin/cloudmall"
APP_USER = "cloudmall"  # on the host: the image's uid, in the docker group


def _heredoc(path: str, content: str, mode: str = "0644") -> list[str]:
    marker = "CLOUDMALL_EOF"
    if marker in content:
        raise ValueError(f"{path}: content contains the heredoc marker")
    return [
        f"install -d -m 0755 $(dirname {path})",
        f"cat > {path} <<'{marker}'",
        *content.rstrip("\n").split("\n"),
        marker,
        f"chmod {mode} {path}",
    ]


def env_names(boot_config: dict[str, object]) -> list[str]:
    """The variables render_env.py writes: passed by name from the unit's environment."""
    names: set[str] = set()
    for section in ("parameters", "secrets", "url_credentials"):
        value = boot_config.get(section, {})
        assert isinstance(value, dict)
        names.update(value)
    return sorted(names)


def docker_run(
    image_uri: str, names: list[str], *options: str, read_only_files: tuple[str, ...] = ()
) -> str:
    """A read-only container of the image on the host's network, settings passed by name;
    ``read_only_files`` (CA bundles the settings name) mounted at the same paths."""
    parts = [
        f"{DOCKER} run --rm --network host --read-only --tmpfs /tmp",
        f"--volume {STATE_DIR}:{STATE_DIR}",
        *(f"--volume {path}:{path}:ro" for path in read_only_files),
        *(f"--env {name}" for name in names),
        *options,
        image_uri,
    ]
    return " ".join(parts)


def systemd_units(
    *,
    image_uri: str,
    env_names: list[str],
    port: int,
    workers: int,
    trusted_proxies: str | None = None,
    read_only_files: tuple[str, ...] = (),
) -> dict[str, str]:
    env_unit = f"""[Unit]
Description=cloudmall: render {ENV_FILE} from SSM Parameter Store and Secrets Manager
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={DOCKER} run --rm --network host --read-only --tmpfs /tmp --user 0:0 \\
  --volume {PREFIX}/render_env.py:/render_env.py:ro --volume {CONFIG_DIR}:{CONFIG_DIR} \\
  {image_uri} python /render_env.py {BOOT_JSON}
Restart=on-failure
RestartSec=5
"""
    settings = [f"CLOUDMALL_PORT={port}", f"CLOUDMALL_WORKERS={workers}"]
    # Behind a load balancer every connection comes from it: uvicorn takes the client's address
    # from X-Forwarded-For only when the connection comes from these (per-client rate limits).
    if trusted_proxies:
        settings.append(f"FORWARDED_ALLOW_IPS={trusted_proxies}")
    environment = "".join(f"Environment={setting}\n" for setting in settings)
    names = [*env_names, *(setting.split("=", 1)[0] for setting in settings)]
    app_unit = f"""[Unit]
Description=cloudmall web shop (container)
Requires=cloudmall-env.service docker.service
After=cloudmall-env.service docker.service network-online.target

[Service]
Type=exec
EnvironmentFile={ENV_FILE}
{environment}ExecStartPre=-{DOCKER} rm --force {CONTAINER}
ExecStart={docker_run(image_uri, names, "--name", CONTAINER, read_only_files=read_only_files)}
ExecStop={DOCKER} stop --time 25 {CONTAINER}
TimeoutStopSec=35
Restart=on-failure
RestartSec=3
StandardOutput=append:{APP_LOG}
StandardError=append:{APP_LOG}

[Install]
WantedBy=multi-user.target
"""
    return {
        "/etc/systemd/system/cloudmall-env.service": env_unit,
        "/etc/systemd/system/cloudmall.service": app_unit,
    }


#: How often the app instances export the outbox's events to the data lake (docs/lake.md).
LAKE_EXPORT_CALENDAR = "minutely"


def lake_export_units() -> dict[str, str]:
    """`cloudmall lake export` every minute, as the app's user with its env file. A run still
    going when the next minute comes is not started twice (systemd starts an active unit once);
    the instances of a group export side by side, since one run never claims another's events."""
    service = f"""[Unit]
Description=cloudmall: export the outbox's events to the data lake
Requires=cloudmall-env.service docker.service
After=cloudmall-env.service docker.service network-online.target

[Service]
Type=oneshot
User={APP_USER}
Group={APP_USER}
EnvironmentFile={ENV_FILE}
WorkingDirectory={STATE_DIR}
ExecStart={CLOUDMALL_BIN} lake export
TimeoutStartSec=30min
StandardOutput=append:{APP_LOG}
StandardError=append:{APP_LOG}
"""
    timer = f"""[Unit]
Description=cloudmall: export to the data lake every minute

[Timer]
OnCalendar={LAKE_EXPORT_CALENDAR}
AccuracySec=5s

[Install]
WantedBy=timers.target
"""
    return {
        "/etc/systemd/system/cloudmall-lake-export.service": service,
        "/etc/systemd/system/cloudmall-lake-export.timer": timer,
    }


def cloudwatch_agent_config(log_group_name: str, *, in_auto_scaling_group: bool) -> str:
    """mem_used_percent (and disk) in the CWAgent namespace, aggregated per ASG, plus app logs."""
    dimensions = {"InstanceId": "${aws:InstanceId}"}
    aggregation: list[list[str]] = [["InstanceId"]]
    if in_auto_scaling_group:
        dimensions["AutoScalingGroupName"] = "${aws:AutoScalingGroupName}"
        aggregation = [["AutoScalingGroupName"]]
    config = {
        "agent": {"metrics_collection_interval": 60, "run_as_user": "cwagent"},
        "metrics": {
            "namespace": "CWAgent",
            "append_dimensions": dimensions,
            "aggregation_dimensions": aggregation,
            "metrics_collected": {
                "mem": {"measurement": ["mem_used_percent"]},
                "disk": {"measurement": ["used_percent"], "resources": ["/"]},
            },
        },
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": APP_LOG,
                            "log_group_name": log_group_name,
                            "log_stream_name": "{instance_id}",
                        },
                        {
                            "file_path": "/var/log/cloud-init-output.log",
                            "log_group_name": log_group_name,
                            "log_stream_name": "{instance_id}/cloud-init",
                        },
                    ]
                }
            }
        },
    }
    return json.dumps(config, indent=2)


LOGROTATE = f"""{APP_LOG} {{
    daily
    rotate 7
    compress
    missingok
    notifempty
    copytruncate
}}
"""


@dataclass
class AppUserDataOptions:
    """How one kind of instance runs cloudmall."""

    boot_config: dict[str, object]
    port: int = 8000
    workers: int = 2
    log_group_name: str | None = None
    in_auto_scaling_group: bool = True
    trusted_proxies: str | None = None  # CIDR of the load balancer that forwards to it
    # "at-boot": the single server; "never": Auto Scaling instances (the deploy's migrator did
    # it, see migration.py); "only": that migrator, which migrates and powers off
    migrate: Literal["at-boot", "never", "only"] = "at-boot"
    migrate_attempts: int = 5
    pull_attempts: int = 5
    launch_hook_name: str | None = None  # completed once /readyz answers (first traffic)
    downloads: dict[str, str] = field(default_factory=dict)  # path -> https URL (CA bundles)
    ready_timeout_seconds: int = 600
    extra_packages: list[str] = field(default_factory=list)
    lake_export: bool = False  # export the outbox to the data lake every minute (a timer)


def build_user_data(
    scope: Construct,
    image: AppImage,
    options: AppUserDataOptions,
    into: ec2.UserData | None = None,
) -> ec2.UserData:
    """The boot script; ``into``: a UserData already given to a launch template, filled now."""
    stack = Stack.of(scope)
    user_data = into or ec2.UserData.for_linux()
    packages = ["docker", "aws-cfn-bootstrap", "logrotate"]
    if options.log_group_name:
        packages.append("amazon-cloudwatch-agent")
    packages += options.extra_packages
    names = env_names(options.boot_config)
    user_data.add_commands(
        "set -euo pipefail",
        "exec > >(tee -a /var/log/cloudmall-boot.log) 2>&1",
        f"dnf install -y {' '.join(packages)}",
        "systemctl enable --now docker",
        # the image's user, on the host: owns the state directory the container writes (SQLite
        # and media on SingleServer) and runs one-off commands (docker group)
        f"id {APP_USER} >/dev/null 2>&1 || useradd --system --uid {IMAGE_UID} --home-dir "
        f"{STATE_DIR} --shell /sbin/nologin {APP_USER}",
        f"usermod -aG docker {APP_USER}",
        f"install -d -m 0750 -o {APP_USER} -g {APP_USER} {STATE_DIR}",
        f"install -d -m 0750 -o root -g root {LOG_DIR} {CONFIG_DIR}",
        f"install -d -m 0755 {PREFIX}",
    )
    if options.port < 1024:
        # the container's non-root user binds the web port on the host's network
        user_data.add_commands(
            f"echo 'net.ipv4.ip_unprivileged_port_start = {options.port}' "
            "> /etc/sysctl.d/90-cloudmall.conf",
            "sysctl --system >/dev/null",
        )
    registry = Fn.select(0, Fn.split("/", image.uri))
    user_data.add_commands(
        # one pinned image from ECR; a few tries, since ECR or the NAT may be slow to answer
        f"for attempt in $(seq 1 {options.pull_attempts}); do",
        f"  if aws ecr get-login-password --region {stack.region} | {DOCKER} login --username "
        f"AWS --password-stdin {registry} && {DOCKER} pull --quiet "
        f"{image.uri}; then break; fi",
        f'  if [ "$attempt" = {options.pull_attempts} ]; then exit 1; fi',
        "  sleep $((attempt * 10))",
        "done",
    )
    for path, url in options.downloads.items():
        user_data.add_commands(f"curl -fsS --retry 5 -o {path} {url}", f"chmod 0644 {path}")
    mounts = tuple(options.downloads)
    render_env = (ASSETS / "render_env.py").read_text()
    user_data.add_commands(*_heredoc(f"{PREFIX}/render_env.py", render_env, "0644"))
    user_data.add_commands(
        f"cat > {BOOT_JSON} <<'CLOUDMALL_EOF'",
        stack.to_json_string(options.boot_config),
        "CLOUDMALL_EOF",
        f"chmod 0600 {BOOT_JSON}",
    )
    units = systemd_units(
        image_uri=image.uri,
        env_names=names,
        port=options.port,
        workers=options.workers,
        trusted_proxies=options.trusted_proxies,
        read_only_files=mounts,
    )
    if options.lake_export:
        units.update(lake_export_units())
    for path, content in units.items():
        user_data.add_commands(*_heredoc(path, content))
    wrapper = (
        f'#!/bin/sh\nexec {docker_run(image.uri, names, read_only_files=mounts)} cloudmall "$@"\n'
    )
    user_data.add_commands(*_heredoc(CLOUDMALL_BIN, wrapper, "0755"))
    user_data.add_commands(*_heredoc("/etc/logrotate.d/cloudmall", LOGROTATE))
    if options.log_group_name:
        agent_path = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
        user_data.add_commands(
            f"cat > {agent_path} <<'CLOUDMALL_EOF'",
            cloudwatch_agent_config(
                options.log_group_name, in_auto_scaling_group=options.in_auto_scaling_group
            ),
            "CLOUDMALL_EOF",
            "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl "
            f"-a fetch-config -m ec2 -s -c file:{agent_path}",
        )
    user_data.add_commands("systemctl daemon-reload", "systemctl start cloudmall-env.service")
    if options.migrate != "never":
        user_data.add_commands(*_migrate(options.migrate_attempts))
    if options.migrate == "only":
        # The deploy's one-off migrator: done once the schema is migrated. Power off a minute
        # later (time for cfn-signal, on exit), which terminates it (its shutdown behaviour).
        user_data.add_commands("shutdown -h +1 'cloudmall: migration done'", "exit 0")
        return user_data
    if options.lake_export:
        user_data.add_commands("systemctl enable --now cloudmall-lake-export.timer")
    user_data.add_commands(
        "systemctl enable --now cloudmall.service",
        f"for _ in $(seq 1 {options.ready_timeout_seconds // 5}); do",
        f"  if curl -fsS -o /dev/null http://127.0.0.1:{options.port}/readyz; then",
        *_complete_launch_hook(options.launch_hook_name, stack.region),
        "    exit 0",
        "  fi",
        "  sleep 5",
        "done",
        "echo 'cloudmall did not become ready' >&2",
        "exit 1",
    )
    return user_data


def _migrate(attempts: int) -> list[str]:
    """`cloudmall migrate` in the image, as the app's user with its env file; a few tries (a
    database that is still starting, or another run holding the migration lock)."""
    return [
        f"for attempt in $(seq 1 {attempts}); do",
        f"  if systemd-run --wait --pipe --collect --quiet --uid={APP_USER} --gid={APP_USER} "
        f"-p EnvironmentFile={ENV_FILE} -p WorkingDirectory={STATE_DIR} "
        f"{CLOUDMALL_BIN} migrate; then break; fi",
        f'  if [ "$attempt" = {attempts} ]; then exit 1; fi',
        "  sleep $((attempt * 10))",
        "done",
    ]


def _complete_launch_hook(hook_name: str | None, region: str) -> list[str]:
    """Let the load balancer send this instance its first request (it is ready now)."""
    if hook_name is None:
        return []
    imds = "http://169.254.169.254/latest"
    return [
        "    token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "
        f"{imds}/api/token)",
        '    instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" '
        f"{imds}/meta-data/instance-id)",
        f"    group=$(aws autoscaling describe-auto-scaling-instances --region {region} "
        "--instance-ids \"$instance\" --query 'AutoScalingInstances[0].AutoScalingGroupName' "
        "--output text)",
        f"    aws autoscaling complete-lifecycle-action --region {region} "
        f'--lifecycle-hook-name {hook_name} --auto-scaling-group-name "$group" '
        '--instance-id "$instance" --lifecycle-action-result CONTINUE',
    ]


def app_instance_user_data(
    scope: Construct,
    *,
    boot_config: dict[str, object],
    role: iam.Role,
    port: int,
    in_auto_scaling_group: bool,
    trusted_proxies: str | None = None,
    launch_hook_name: str | None = None,
    downloads: dict[str, str] | None = None,
    into: ec2.UserData | None = None,
    migrator: ec2.UserData | None = None,
    lake_export: bool = False,
) -> ec2.UserData:
    """What every cloudmall instance boots with: its log group, the image it may pull, and the
    user data that pulls and starts it (and, with ``lake_export``, exports to the data lake).

    With ``migrator`` (a UserData to fill), the instances never migrate at boot: ``migrator``
    becomes the deploy's one-off migrator's boot script (same image, settings and logs).
    """
    app_logs = logs.LogGroup(
        scope,
        "AppLogs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    image = app_image(scope, "Image", image_uri_from_context(scope))
    image.grant_pull(role)
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken, which `docker login` to ECR needs, has no resource-level "
        "permissions; pulling is granted on the one image repository.",
    )
    options = AppUserDataOptions(
        boot_config=boot_config,
        port=port,
        workers=2,
        log_group_name=app_logs.log_group_name,
        in_auto_scaling_group=in_auto_scaling_group,
        trusted_proxies=trusted_proxies,
        launch_hook_name=launch_hook_name,
        downloads=downloads or {},
        migrate="at-boot" if migrator is None else "never",
        lake_export=lake_export,
    )
    if migrator is not None:
        only = replace(
            options,
            migrate="only",
            in_auto_scaling_group=False,
            launch_hook_name=None,
            lake_export=False,
        )
        build_user_data(scope, image, only, migrator)
    return build_user_data(scope, image, options, into)
