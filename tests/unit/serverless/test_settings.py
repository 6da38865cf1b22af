"""A function's secret settings come from Secrets Manager, not from its environment."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from cloudmall.serverless.settings import (
    ORIGIN_VERIFY_ARN_VARIABLE,
    SECRET_ARN_VARIABLE,
    SMTP_URL_ARN_VARIABLE,
    function_settings,
)

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


def test_every_secret_setting_is_read_from_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CLOUDMALL_ENVIRONMENT", "production")
    monkeypatch.setenv("CLOUDMALL_TOKEN_ALGORITHM", "HS256")  # as the stack sets it
    values = {
        SECRET_ARN_VARIABLE: KEY,
        SMTP_URL_ARN_VARIABLE: "smtp://user:pass@email-smtp.example.com:587?starttls=true",
        ORIGIN_VERIFY_ARN_VARIABLE: "o" * 48,
    }
    with mock_aws():
        client = boto3.client("secretsmanager")
        for variable, value in values.items():
            arn = client.create_secret(Name=variable, SecretString=value)["ARN"]
            monkeypatch.setenv(variable, arn)
        settings = function_settings()
    assert settings.secret_key.get_secret_value() == values[SECRET_ARN_VARIABLE]
    assert settings.smtp_url.get_secret_value() == values[SMTP_URL_ARN_VARIABLE]
    assert settings.origin_verify_secret.get_secret_value() == values[ORIGIN_VERIFY_ARN_VARIABLE]
