"""The deployment artifact alone runs the handler: built like `make lambda-package` (for this
machine's Python: the deploy artifact's 3.12 extension modules cannot load here), then imported
by a Python that sees nothing but the artifact and the standard library."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "infra"))
from cloudmall_infra.lambda_package import AWS_SERVICES, NOT_IN_LAMBDA, main

pytestmark = pytest.mark.e2e

# Runs with -I -S: no site-packages, no PYTHONPATH, no user site; the artifact is all there is.
PROBE = """
import asyncio, json, sys
artifact = sys.argv[1]
sys.path.insert(0, artifact)
assert not any("site-packages" in entry for entry in sys.path), sys.path
from cloudmall.bootstrap import migrate
from cloudmall.config import Settings
asyncio.run(migrate(Settings()))
import cloudmall.serverless
answer = cloudmall.serverless.handler(json.loads(sys.argv[2]), None)
import botocore.session
aws = botocore.session.get_session()
for service in json.loads(sys.argv[3]):  # the models the artifact keeps are whole
    aws.create_client(service, region_name="ap-northeast-2", aws_access_key_id="x",
                      aws_secret_access_key="x")
outside = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith((artifact, sys.base_prefix))
)
print(json.dumps({"answer": answer, "outside": outside}))
"""

EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/api/products",
    "rawQueryString": "limit=5",
    "headers": {"host": "api.example.com"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "api.example.com",
        "domainPrefix": "api",
        "http": {
            "method": "GET",
            "path": "/api/products",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.1",
            "userAgent": "test",
        },
        "requestId": "r1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "02/Dec/2026:00:00:00 +0000",
        "timeEpoch": 1_796_169_600_000,
    },
    "isBase64Encoded": False,
}


def test_the_handler_answers_from_the_artifact_alone(tmp_path: Path) -> None:
    artifact = tmp_path / "artifact"
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert main(["--python-version", host, "--architecture", "x86_64", "--out", str(artifact)]) == 0
    assert (tmp_path / "artifact.zip").stat().st_size < 50 * 1024 * 1024
    for left_out in NOT_IN_LAMBDA:
        assert not (artifact / left_out).exists(), left_out
    env = {
        "PATH": os.environ["PATH"],
        "CLOUDMALL_RUNTIME": "function",
        "CLOUDMALL_FUNCTION": "catalogue",
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
        "CLOUDMALL_VAR_DIR": str(tmp_path / "var"),
        "CLOUDMALL_SECRET_KEY": TEST_SECRET_KEY,
    }
    probe = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            PROBE,
            str(artifact),
            json.dumps(EVENT),
            json.dumps(sorted(AWS_SERVICES)),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["outside"] == []
    answer = result["answer"]
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == []


def test_every_aws_service_the_code_calls_keeps_its_model() -> None:
    """The artifact keeps botocore's models of AWS_SERVICES only: a client of another service
    would fail on AWS, so every service the code names must be listed."""
    named = {
        match
        for path in (REPO_ROOT / "src" / "cloudmall").rglob("*.py")
        for match in re.findall(r"\bclient\(\s*\"([a-z0-9-]+)\"", path.read_text())
    }
    assert named == {"s3", "dynamodb", "rds"}  # the regex finds what it should
    assert named | {"secretsmanager"} <= set(AWS_SERVICES)
