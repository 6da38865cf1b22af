"""Every process the stacks start can build its settings from what its template gives it.

A Lambda function gets its environment and the secrets named by its `*_SECRET_ARN` variables
(read at init, serverless/settings.py); an ECS container its environment and its secrets. A
setting the app requires in production that a stack forgets to give one process fails here,
not at that process's first start on AWS. (The 3-tier instances write their environment file at
boot from SSM parameters: tests/infra/test_render_env.py.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from infra_synth import Synth, rendered
from pydantic import SecretStr

from cloudmall.config import Settings
from cloudmall.serverless.settings import SECRET_SETTINGS

#: What a secret holds, by the setting or variable it becomes (shapes the app checks).
SECRET_VALUES = {
    "secret_key": "s" * 64,
    "smtp_url": "smtp://user:pass@email-smtp.ap-northeast-2.amazonaws.com:587?starttls=true",
    "origin_verify_secret": "o" * 48,
    "CLOUDMALL_SECRET_KEY": "s" * 64,
    "CLOUDMALL_DATABASE_USERNAME": "cloudmall",
    "CLOUDMALL_DATABASE_PASSWORD": "p" * 32,
    "CLOUDMALL_CACHE_PASSWORD": "c" * 32,
}


def text(value: Any) -> str:
    """A template value as the process sees it, each reference a plausible host-like name."""
    return re.sub(
        r"<([^>]+)>",
        lambda found: re.sub(r"[^a-z0-9]", "", found.group(1).lower())[:40] or "ref",
        rendered(value),
    )


def settings_of(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], **secrets: str
) -> Settings:
    """Settings() in a process with exactly `environment` (no other CLOUDMALL_ variable); the
    test's environment comes back afterwards (monkeypatch undoes each change)."""
    for key in [key for key in os.environ if key.startswith("CLOUDMALL_")]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return Settings(**{name: SecretStr(value) for name, value in secrets.items()})  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def own_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # a var folder of its own


def lambda_processes(synth: Synth) -> dict[str, dict[str, Any]]:
    found = {}
    for stack in synth.templates:
        for logical_id, resource in synth.resources(stack, "AWS::Lambda::Function").items():
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            if any(key.startswith("CLOUDMALL_") for key in variables):
                found[f"{stack}/{logical_id}"] = variables
    return found


def container_processes(synth: Synth) -> dict[str, dict[str, Any]]:
    found = {}
    for stack in synth.templates:
        for logical_id, resource in synth.resources(stack, "AWS::ECS::TaskDefinition").items():
            for container in resource["Properties"]["ContainerDefinitions"]:
                found[f"{stack}/{logical_id}/{container['Name']}"] = container
    return found


@pytest.mark.parametrize("variant", ["production", "dynamodb"])
def test_every_function_starts_with_what_its_template_gives(
    variant: str, all_synths: dict[str, Synth], monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = lambda_processes(all_synths[variant])
    assert len(processes) >= 4  # the three request functions and the mail function, at least
    for name, variables in processes.items():
        environment = {key: text(value) for key, value in variables.items()}
        secrets = {
            setting: SECRET_VALUES[setting]
            for variable, setting in SECRET_SETTINGS.items()
            if variable in environment
        }
        try:
            settings = settings_of(monkeypatch, environment, **secrets)
        except ValueError as refused:
            pytest.fail(f"{name} would not start: {refused}")
        assert settings.environment.value == "production", name


def test_every_container_starts_with_what_its_task_definition_gives(
    production: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = container_processes(production)
    assert len(processes) >= 4  # the shop and the lake export, in each of the two stages
    for name, container in processes.items():
        environment = {item["Name"]: text(item["Value"]) for item in container["Environment"]}
        for secret in container.get("Secrets", []):
            environment[secret["Name"]] = SECRET_VALUES[secret["Name"]]
        try:
            settings = settings_of(monkeypatch, environment)
        except ValueError as refused:
            pytest.fail(f"{name} would not start: {refused}")
        assert settings.environment.value == "production", name
