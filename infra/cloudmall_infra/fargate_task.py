"""A Fargate task definition of the shop's image, the way every cloudmall task runs it: read-only
root filesystem with task volumes for the few writable paths, the image's user, logs kept a month,
and a command that fetches the RDS CA bundle first where the database URL names it.

The log group and the task definition are made in the caller's scope (ids "Logs" and "Task"), so
a construct that builds its task here keeps the logical ids it had when it built it itself.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from cloudmall_infra.data import RDS_CA_BUNDLE, RDS_CA_BUNDLE_URL
from cloudmall_infra.image import IMAGE_UID, AppImage
from cloudmall_infra.nag import acknowledge

# Writable paths of a read-only task (empty task volumes shared by its containers): the app's var
# dir, /tmp, and the config dir where a container puts the RDS CA bundle.
WRITABLE = {
    "var": "/var/lib/cloudmall",
    "tmp": "/tmp",  # noqa: S108 - a task volume
    "config": str(PurePosixPath(RDS_CA_BUNDLE).parent),
}
# The database URL names the RDS CA bundle (TLS, verified): a command that reaches the database
# fetches it first, into the writable config dir.
FETCH_CA_BUNDLE = (
    'python -c "import urllib.request as u; '
    f"u.urlretrieve('{RDS_CA_BUNDLE_URL}', '{RDS_CA_BUNDLE}')\""
)


def with_ca_bundle(command: str) -> list[str]:
    """A container command that fetches the RDS CA bundle, then runs `command` (a shell line)."""
    return ["sh", "-c", f"{FETCH_CA_BUNDLE} && exec {command}"]


class ShopTask:
    """The task definition (`definition`) and its log group (`log_group`), made in `scope`; its
    containers are added with `add_container`."""

    def __init__(
        self,
        scope: Construct,
        *,
        family: str,
        image: AppImage,
        cpu: int,
        memory_mib: int,
        environment_reason: str,
    ) -> None:
        self.log_group = logs.LogGroup(
            scope,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.definition = ecs.FargateTaskDefinition(
            scope,
            "Task",
            family=family,
            cpu=cpu,
            memory_limit_mib=memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=ecs.CpuArchitecture.X86_64,
            ),
        )
        for volume in WRITABLE:
            self.definition.add_volume(name=volume)
        # why the task's plain settings may be environment variables (cdk-nag asks)
        acknowledge(self.definition, "AwsSolutions-ECS2", environment_reason)
        self._image = ecs.ContainerImage.from_registry(image.uri)
        image.grant_pull(self.definition.obtain_execution_role())

    def add_container(
        self,
        name: str,
        *,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        command: list[str] | None = None,
        essential: bool = True,
        health_check: ecs.HealthCheck | None = None,
        stop_timeout: Duration | None = None,
    ) -> ecs.ContainerDefinition:
        """A container of the image, named `name` (its log streams too), read-only, as the
        image's user, with every writable path mounted."""
        container = self.definition.add_container(
            name,
            container_name=name,
            image=self._image,
            essential=essential,
            command=command,
            environment=environment,
            secrets=secrets,
            health_check=health_check,
            readonly_root_filesystem=True,
            user=f"{IMAGE_UID}:{IMAGE_UID}",
            stop_timeout=stop_timeout,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=self.log_group),
        )
        container.add_mount_points(
            *(
                ecs.MountPoint(source_volume=volume, container_path=path, read_only=False)
                for volume, path in WRITABLE.items()
            )
        )
        return container
