"""Context for the container stacks and the pipeline (`-c key=value`, like config.py's)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs import Construct

from cloudmall_infra.config import _context

PLACEHOLDER_CONNECTION_ARN = (
    "arn:aws:codeconnections:{region}:{account}:connection/00000000-0000-0000-0000-000000000000"
)
_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[\w-]+$"
)
_REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class ContainerConfig:
    """``image_uri``: an image in ECR the stacks run instead of building the Dockerfile;
    ``github_connection_arn``, ``github_repository`` (owner/name), ``github_branch``: the
    pipeline's source."""

    image_uri: str | None
    github_connection_arn: str
    github_repository: str
    github_branch: str

    @property
    def connection_is_placeholder(self) -> bool:
        return self.github_connection_arn.endswith("/00000000-0000-0000-0000-000000000000")

    @classmethod
    def from_context(cls, scope: Construct, *, account: str, region: str) -> ContainerConfig:
        connection = str(
            _context(
                scope,
                "github_connection_arn",
                PLACEHOLDER_CONNECTION_ARN.format(region=region, account=account),
            )
        )
        if not _CONNECTION_ARN.match(connection):
            raise ValueError(
                "github_connection_arn must be a CodeConnections connection ARN "
                f"(arn:aws:codeconnections:<region>:<account>:connection/<id>), not {connection!r}"
            )
        repository = str(_context(scope, "github_repository", "cloudmall/cloudmall"))
        if not _REPOSITORY.match(repository):
            raise ValueError(f"github_repository must be owner/name, not {repository!r}")
        return cls(
            image_uri=image_uri_from_context(scope),
            github_connection_arn=connection,
            github_repository=repository,
            github_branch=str(_context(scope, "github_branch", "main")),
        )


def image_uri_from_context(scope: Construct) -> str | None:
    """``image_uri``: run this ECR image instead of building the Dockerfile at deploy time."""
    value = _context(scope, "image_uri")
    return str(value) if value else None
