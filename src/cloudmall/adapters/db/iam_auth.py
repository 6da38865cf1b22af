"""RDS IAM authentication: a signed token, made locally by boto3, is the connection's password.

Tokens are valid for 15 minutes and only for a new connection; the engine asks for one per
connection it opens (adapters.db.engine.create_engine's `password_source`). Making one is a local
signature (no network call); the function's role needs `rds-db:connect` on the proxy's user.
"""

from __future__ import annotations

from typing import Any

import boto3


class RdsIamTokens:
    """A PasswordSource giving RDS IAM auth tokens signed with the process's AWS credentials."""

    def __init__(self, region: str | None = None) -> None:
        self._client: Any = boto3.client("rds", region_name=region)

    def __call__(self, host: str, port: int, user: str) -> str:
        token: str = self._client.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user
        )
        return token
