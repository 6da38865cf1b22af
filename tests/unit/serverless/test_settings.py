"""A function's signing key comes from Secrets Manager, not from its environment."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from cloudmall.serverless.settings import SECRET_ARN_VARIABLE, function_settings

KEY = "k" * 64


def test_the_signing_key_is_read_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CLOUDMALL_ENVIRONMENT", "production")
    monkeypatch.setenv("CLOUDMALL_TOKEN_ALGORITHM", "HS256")  # as the serverless stack sets
    monkeypatch.delenv("CLOUDMALL_SECRET_KEY", raising=False)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="key", SecretString=KEY)["ARN"]
        monkeypatch.setenv(SECRET_ARN_VARIABLE, arn)
        assert function_settings().secret_key.get_secret_value() == KEY


def test_without_the_variable_the_environment_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ARN_VARIABLE, raising=False)
    monkeypatch.setenv("CLOUDMALL_SECRET_KEY", KEY)
    assert function_settings().secret_key.get_secret_value() == KEY
