"""Synthesize the CDK app once per test session (per configuration) and share the templates."""

from __future__ import annotations

import pytest
from infra_synth import INTERNAL_CONTEXT, PRODUCTION_CONTEXT, Synth, synthesize


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-production"), PRODUCTION_CONTEXT)


@pytest.fixture(scope="session")
def aurora(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    context = {**PRODUCTION_CONTEXT, "database_engine": "aurora-mysql"}
    return synthesize(tmp_path_factory.mktemp("cdk-aurora"), context)


@pytest.fixture(scope="session")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """What `make synth` builds: no context at all."""
    return synthesize(tmp_path_factory.mktemp("cdk-defaults"), {})


@pytest.fixture(scope="session")
def internal(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-internal"), INTERNAL_CONTEXT)


@pytest.fixture(scope="session")
def on_dynamodb(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The serverless shop on a DynamoDB table (`-c database=dynamodb`)."""
    context = {**PRODUCTION_CONTEXT, "database": "dynamodb"}
    return synthesize(tmp_path_factory.mktemp("cdk-dynamodb"), context)


@pytest.fixture(scope="session")
def all_synths(
    production: Synth, aurora: Synth, defaults: Synth, internal: Synth, on_dynamodb: Synth
) -> dict[str, Synth]:
    return {
        "production": production,
        "aurora": aurora,
        "defaults": defaults,
        "internal": internal,
        "dynamodb": on_dynamodb,
    }
