"""A function's settings: the environment, and the secret ones read from Secrets Manager at init
(each named by the ARN in a variable), so that no secret is in an environment variable or the
stack's template."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType

from cloudmall.config import Settings

SECRET_ARN_VARIABLE = "CLOUDMALL_SECRET_KEY_SECRET_ARN"  # noqa: S105 - a variable's name
SMTP_URL_ARN_VARIABLE = "CLOUDMALL_SMTP_URL_SECRET_ARN"
ORIGIN_VERIFY_ARN_VARIABLE = "CLOUDMALL_ORIGIN_VERIFY_SECRET_ARN"
#: The variable holding a secret's ARN → the setting its value becomes.
SECRET_SETTINGS: Mapping[str, str] = MappingProxyType(
    {
        SECRET_ARN_VARIABLE: "secret_key",  # the key access tokens are signed with
        SMTP_URL_ARN_VARIABLE: "smtp_url",  # the mail function's server, with its log-in
        ORIGIN_VERIFY_ARN_VARIABLE: "origin_verify_secret",  # what CloudFront proves itself by
    }
)


def function_settings() -> Settings:
    arns = {
        setting: os.environ[variable]
        for variable, setting in SECRET_SETTINGS.items()
        if os.environ.get(variable)
    }
    if not arns:
        return Settings()
    # Imported only here: powertools' parameters import boto3, which a function without
    # secrets (a local run) does not need at its cold start.
    from aws_lambda_powertools.utilities import parameters
    from pydantic import SecretStr

    values = {setting: SecretStr(str(parameters.get_secret(arn))) for setting, arn in arns.items()}
    return Settings(**values)  # type: ignore[arg-type]
