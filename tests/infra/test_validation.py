"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file
from infra_synth import Synth

CONFIGURATIONS = ("production", "aurora", "defaults", "internal", "dynamodb")
STACKS = (
    "ShoppingMall",
    "SingleServer",
    "SecurityBaseline",
    "ContainerShop",
    "ContainerShopStaging",
    "ShopPipeline",
    "ServerlessShop",
    "MicroservicesShop",
)


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_cdk_nag_reports_no_unacknowledged_findings(
    all_synths: dict[str, Synth], name: str
) -> None:
    synth = all_synths[name]
    report = AwsSolutionsChecks().validate_scope(synth.app)
    findings = [
        (v.rule_name, v.severity, [r.construct_path for r in v.violating_resources])
        for v in report.violations
    ]
    assert [f for f in findings if f[1] == "error"] == []
    assert findings == []  # warnings are acknowledged too
    assert report.success


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_synthesis_wrote_one_template_per_stack(all_synths: dict[str, Synth], name: str) -> None:
    synth = all_synths[name]
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    stacks = {
        artifact_id
        for artifact_id, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert stacks == set(STACKS)
    assert {p.name for p in synth.outdir.glob("*.template.json")} == {
        f"{stack}.template.json" for stack in STACKS
    }


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_cfn_lint_finds_no_errors(all_synths: dict[str, Synth], name: str) -> None:
    synth = all_synths[name]
    errors = []
    for template in sorted(synth.outdir.glob("*.template.json")):
        for match in lint_file(Path(template), ManualArgs(regions=["ap-northeast-2"])):
            if match.rule.id.startswith("E"):
                errors.append(f"{template.name}: {match}")
    assert errors == []


def _warnings_and_errors(synth: Synth) -> list[tuple[str, str, str]]:
    found = []
    for path in synth.outdir.glob("*.metadata.json"):
        for construct_path, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry["type"] in {"aws:cdk:warning", "aws:cdk:error"}:
                    found.append((construct_path, entry["type"], str(entry["data"])))
    return found


def test_production_synth_has_no_warnings(production: Synth) -> None:
    assert _warnings_and_errors(production) == []


def test_defaults_warn_about_what_a_deployment_still_needs(defaults: Synth) -> None:
    messages = sorted(data.split(" ", 1)[0] for _, _, data in _warnings_and_errors(defaults))
    # placeholder certificates (ShoppingMall and both ContainerShop stages), no alarm e-mail for
    # the shop's alarms nor the baseline's, placeholder GitHub connection
    assert messages == [
        "certificate_arn",
        "certificate_arn",
        "certificate_arn",
        "github_connection_arn",
        "no",
        "no",
    ]
