"""What a function imports at its cold start: only what its settings and routes need.

Each import is paid by every cold start (docs/serverless.md, "Measured here"); this keeps the
heavy ones that a function with a SQL database, no S3 and no SMTP never uses out of its process,
so the gain cannot silently come back through a top-level import.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudmall.bootstrap import migrate
from tests.conftest import TEST_SECRET_KEY
from tests.integration.serverless.conftest import function_settings
from tests.integration.serverless.events import event

# Build the handler as the Lambda runtime does, answer one event, list the loaded packages.
PROBE = """
import json, sys
import cloudmall.serverless
answer = cloudmall.serverless.handler(json.loads(sys.argv[1]), None)
print(json.dumps({"status": answer["statusCode"], "modules": sorted(sys.modules)}))
"""
# Never at a cold start without S3, IAM log-in, SMTP or DynamoDB: boto3 and botocore's clients
# (S3, Secrets Manager, RDS tokens; powertools imports botocore's bare package, ~15 ms, to tag
# its calls), Alembic (migrations), the lake's engines, the server's metrics.
NEVER = {
    "boto3",
    "botocore.client",
    "alembic",
    "mako",
    "pyarrow",
    "duckdb",
    "prometheus_client",
    "smtplib",
}
# Only in the function that uses them, and there on first use.
NOT_IN = {
    "accounts": {"PIL", "cloudmall.web.routers.orders", "cloudmall.web.routers.admin"},
    "catalogue": {
        "PIL",
        "argon2",
        "zxcvbn",
        "cloudmall.web.routers.accounts",
        "cloudmall.web.routers.orders",
    },
    "orders": {
        "PIL",
        "argon2",
        "zxcvbn",
        "cloudmall.web.routers.profile",
        "cloudmall.web.routers.addresses",
    },
}
FIRST_EVENT = {
    "accounts": ("POST", "/api/auth/password-reset"),
    "catalogue": ("GET", "/api/products"),
    "orders": ("GET", "/api/delivery/carriers"),
}


@pytest.mark.parametrize("function", sorted(NOT_IN))
def test_a_cold_start_imports_only_what_the_function_uses(function: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    asyncio.run(migrate(function_settings(url, tmp_path)))
    method, path = FIRST_EVENT[function]
    body = {"email": "nobody@example.com"} if method == "POST" else None
    env = {
        **os.environ,
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_RUNTIME": "function",
        "CLOUDMALL_FUNCTION": function,
        "CLOUDMALL_DATABASE_URL": url,
        "CLOUDMALL_VAR_DIR": str(tmp_path / "var"),
        "CLOUDMALL_SECRET_KEY": TEST_SECRET_KEY,
    }
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(event(method, path, body=body))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["status"] < 300, seen["status"]
    loaded = set(seen["modules"])
    packages = {name.split(".")[0] for name in loaded}
    unwanted = (NEVER | NOT_IN[function]) & (packages | loaded)
    assert not unwanted, unwanted
