"""Boot script for the app instances (Amazon Linux 2023), built from the project's own source.

The project (``pyproject.toml``, ``README.md``, ``src/``) becomes a CDK asset; at boot the
instance downloads it, ``pip install``s it into a virtualenv, renders its env file from SSM and
Secrets Manager and starts ``cloudmall serve`` under systemd. Schema migrations run once per
deployment (``migration.py``), not on every instance of an Auto Scaling group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from aws_cdk import IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS = Path(__file__).resolve().parent / "assets"

PREFIX = "/opt/cloudmall"
VENV = f"{PREFIX}/venv"
CLOUDMALL_BIN = f"{VENV}/bin/cloudmall"  # what SSM Run Command jobs (the nightly backup) run
STATE_DIR = "/var/lib/cloudmall"
LOG_DIR = "/var/log/cloudmall"
CONFIG_DIR = "/etc/cloudmall"
ENV_FILE = f"{CONFIG_DIR}/cloudmall.env"
BOOT_JSON = f"{CONFIG_DIR}/boot.json"
APP_LOG = f"{LOG_DIR}/app.log"

# Only what `pip install` needs: gitignore syntax, so nothing under .venv/ or cdk.out/ is walked.
SOURCE_EXCLUDES = [
    "/*",
    "!/pyproject.toml",
    "!/README.md",
    "!/LICENSE",
    "!/src/",
    "__pycache__/",
    "*.pyc",
    "*.egg-info/",
    "/src/**/var/",
]


def source_asset(scope: Construct, construct_id: str) -> s3_assets.Asset:
    """The cloudmall source as a zip asset in the CDK bootstrap bucket."""
    return s3_assets.Asset(
        scope,
        construct_id,
        path=str(REPO_ROOT),
        exclude=SOURCE_EXCLUDES,
        ignore_mode=IgnoreMode.GIT,
    )


def grant_asset_read(asset: s3_assets.Asset, grantee: iam.IGrantable) -> None:
    """s3:GetObject on exactly the asset object (``asset.grant_read`` would add List*/Get*)."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ReadCloudmallSource",
            actions=["s3:GetObject"],
            resources=[asset.bucket.arn_for_objects(asset.s3_object_key)],
        )
    )


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


def systemd_units(
    *, port: int, workers: int, bind_low_port: bool, trusted_proxies: str | None = None
) -> dict[str, str]:
    env_unit = f"""[Unit]
Description=cloudmall: render {ENV_FILE} from SSM Parameter Store and Secrets Manager
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={VENV}/bin/python {PREFIX}/render_env.py {BOOT_JSON}
Restart=on-failure
RestartSec=5
"""
    capabilities = "AmbientCapabilities=CAP_NET_BIND_SERVICE\n" if bind_low_port else ""
    # Behind a load balancer every connection comes from it: uvicorn takes the client's address
    # from X-Forwarded-For only when the connection comes from these (per-client rate limits).
    proxies = f"Environment=FORWARDED_ALLOW_IPS={trusted_proxies}\n" if trusted_proxies else ""
    app_unit = f"""[Unit]
Description=cloudmall web shop
Requires=cloudmall-env.service
After=cloudmall-env.service network-online.target

[Service]
Type=exec
User=cloudmall
Group=cloudmall
WorkingDirectory={STATE_DIR}
EnvironmentFile={ENV_FILE}
{proxies}ExecStart={VENV}/bin/cloudmall serve --host 0.0.0.0 --port {port} --workers {workers}
{capabilities}KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=3
StandardOutput=append:{APP_LOG}
StandardError=append:{APP_LOG}
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={STATE_DIR} {LOG_DIR}

[Install]
WantedBy=multi-user.target
"""
    return {
        "/etc/systemd/system/cloudmall-env.service": env_unit,
        "/etc/systemd/system/cloudmall.service": app_unit,
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
    launch_hook_name: str | None = None  # completed once /readyz answers (first traffic)
    downloads: dict[str, str] = field(default_factory=dict)  # path -> https URL (CA bundles)
    ready_timeout_seconds: int = 600
    extra_packages: list[str] = field(default_factory=list)


def build_user_data(
    scope: Construct,
    asset: s3_assets.Asset,
    options: AppUserDataOptions,
    into: ec2.UserData | None = None,
) -> ec2.UserData:
    """The boot script; ``into``: a UserData already given to a launch template, filled now."""
    stack = Stack.of(scope)
    user_data = into or ec2.UserData.for_linux()
    packages = ["python3.11", "python3.11-pip", "unzip", "aws-cfn-bootstrap", "logrotate"]
    if options.log_group_name:
        packages.append("amazon-cloudwatch-agent")
    packages += options.extra_packages
    user_data.add_commands(
        "set -euo pipefail",
        "exec > >(tee -a /var/log/cloudmall-boot.log) 2>&1",
        f"dnf install -y {' '.join(packages)}",
        "id cloudmall >/dev/null 2>&1 || useradd --system --home-dir "
        f"{STATE_DIR} --shell /sbin/nologin cloudmall",
        f"install -d -m 0750 -o cloudmall -g cloudmall {STATE_DIR} {LOG_DIR}",
        f"install -d -m 0750 -o root -g root {CONFIG_DIR}",
        f"install -d -m 0755 {PREFIX}",
    )
    zip_path = user_data.add_s3_download_command(
        bucket=asset.bucket,
        bucket_key=asset.s3_object_key,
        local_file=f"{PREFIX}/source.zip",
        region=stack.region,
    )
    user_data.add_commands(
        f"rm -rf {PREFIX}/source && unzip -q -o {zip_path} -d {PREFIX}/source",
        # hatchling wants the readme that pyproject.toml names
        f"[ -f {PREFIX}/source/README.md ] || echo '# cloudmall' > {PREFIX}/source/README.md",
        f"python3.11 -m venv {VENV}",
        f"{VENV}/bin/pip install --quiet --upgrade pip",
        f"{VENV}/bin/pip install --quiet {PREFIX}/source",
    )
    for path, url in options.downloads.items():
        user_data.add_commands(f"curl -fsS --retry 5 -o {path} {url}", f"chmod 0644 {path}")
    render_env = (ASSETS / "render_env.py").read_text()
    user_data.add_commands(*_heredoc(f"{PREFIX}/render_env.py", render_env, "0755"))
    user_data.add_commands(
        f"cat > {BOOT_JSON} <<'CLOUDMALL_EOF'",
        stack.to_json_string(options.boot_config),
        "CLOUDMALL_EOF",
        f"chmod 0600 {BOOT_JSON}",
    )
    units = systemd_units(
        port=options.port,
        workers=options.workers,
        bind_low_port=options.port < 1024,
        trusted_proxies=options.trusted_proxies,
    )
    for path, content in units.items():
        user_data.add_commands(*_heredoc(path, content))
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
    """`cloudmall migrate` as the app's user with its env file; a few tries (a database that
    is still starting, or another run holding the migration lock)."""
    return [
        f"for attempt in $(seq 1 {attempts}); do",
        "  if systemd-run --wait --pipe --collect --quiet --uid=cloudmall --gid=cloudmall "
        f"-p EnvironmentFile={ENV_FILE} -p WorkingDirectory={STATE_DIR} "
        f"{VENV}/bin/cloudmall migrate; then break; fi",
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
    role: iam.IGrantable,
    port: int,
    in_auto_scaling_group: bool,
    trusted_proxies: str | None = None,
    launch_hook_name: str | None = None,
    downloads: dict[str, str] | None = None,
    into: ec2.UserData | None = None,
    migrator: ec2.UserData | None = None,
) -> ec2.UserData:
    """What every cloudmall instance boots with: its log group, the source asset it may read, and
    the user data that installs and starts the app.

    With ``migrator`` (a UserData to fill), the instances never migrate at boot: ``migrator``
    becomes the deploy's one-off migrator's boot script (same source, settings and logs).
    """
    app_logs = logs.LogGroup(
        scope,
        "AppLogs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    source = source_asset(scope, "Source")
    grant_asset_read(source, role)
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
    )
    if migrator is not None:
        only = replace(options, migrate="only", in_auto_scaling_group=False, launch_hook_name=None)
        build_user_data(scope, source, only, migrator)
    return build_user_data(scope, source, options, into)
