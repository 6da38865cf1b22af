"""A function's settings: the environment, and the token signing key read from Secrets Manager
at init (CLOUDMALL_SECRET_KEY_SECRET_ARN), so that it is in no environment variable."""

from __future__ import annotations

import os

from cloudmall.config import Settings

SECRET_ARN_VARIABLE = "CLOUDMALL_SECRET_KEY_SECRET_ARN"  # noqa: S105 - a variable's name


def function_settings() -> Settings:
    arn = os.environ.get(SECRET_ARN_VARIABLE)
    if not arn:
        return Settings()
    from aws_lambda_powertools.utilities import parameters
    from pydantic import SecretStr

    return Settings(secret_key=SecretStr(str(parameters.get_secret(arn))))
