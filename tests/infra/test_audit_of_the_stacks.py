"""`cloudmall audit` on the templates this app really synthesizes (every stack, every variant):
every checklist item met, account-level and covered by SecurityBaseline, exempt by a reason in the
rule data, or not applicable."""

from __future__ import annotations

import json

import pytest
from infra_synth import REPO_ROOT, Synth
from typer.testing import CliRunner

from cloudmall.audit import access
from cloudmall.audit.controllers import AWS_LOAD_BALANCER_CONTROLLER
from cloudmall.audit.engine import audit
from cloudmall.audit.model import Status
from cloudmall.audit.rules import CHECKLIST
from cloudmall.audit.stack import StackTemplate
from cloudmall.cli import app

CONFIGURATIONS = ("production", "aurora", "defaults")
runner = CliRunner()


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_cloudmall_audit_passes_on_every_synthesized_stack(
    all_synths: dict[str, Synth], name: str
) -> None:
    synth = all_synths[name]
    result = runner.invoke(app, ["audit", str(synth.outdir), "--format", "json"])
    report = json.loads(result.stdout)
    not_met = [
        (stack["stack"], item["rule_id"], item["reasons"])
        for stack in report["stacks"]
        for item in stack["items"]
        if item["status"] == "not met"
    ]
    assert not_met == []
    assert result.exit_code == 0
    assert {s["stack"] for s in report["stacks"]} == {
        "ShoppingMall",
        "SingleServer",
        "ServerlessShop",
        "SecurityBaseline",
        "ContainerShop",
        "ContainerShopStaging",
        "ShopPipeline",
        "MicroservicesShop",
    }


def test_the_shopping_mall_meets_its_resource_items_itself(production: Synth) -> None:
    stacks = [StackTemplate(n, t) for n, t in production.templates.items()]
    [shop] = [s for s in audit(stacks).stacks if s.stack == "ShoppingMall"]
    statuses = {item.rule_id: item.status for item in shop.items}
    assert {rule for rule, status in statuses.items() if status is Status.met} >= {
        "private-subnets",
        "security-groups",
        "waf",
        "iam-roles",
        "least-privilege",
        "encryption-at-rest",
        "backups",
        "kms",
    }
    assert all(
        statuses[rule.rule_id] is Status.account_level for rule in CHECKLIST if rule.account_level
    )


def test_the_load_balancer_controller_is_exempt_only_for_what_aws_publishes(
    production: Synth,
) -> None:
    """MicroservicesShop's least privilege: every policy met but the controller's, whose '*'
    statements are tag-scoped except exactly the published list (none of it stale)."""
    shop = StackTemplate("MicroservicesShop", production.templates["MicroservicesShop"])
    outcome = access.least_privilege(shop)
    [problem] = outcome.problems
    assert problem.code == access.PUBLISHED_CONTROLLER_POLICY
    assert "AlbController" in problem.resource
    assert "aws:ResourceTag/elbv2.k8s.aws/cluster" in problem.message
    lid = problem.resource.split("/", 1)[1]
    statements = shop.properties(lid)["PolicyDocument"]["Statement"]
    unnamed = {a for s in statements for a in access.unnamed_actions(s)}
    assert unnamed == AWS_LOAD_BALANCER_CONTROLLER.unscoped
    # the cluster's OIDC provider is the native resource: no Lambda role on every provider
    assert not [r for r in outcome.evidence if "OpenIdConnectProvider" in r]
    assert "AWS::IAM::OIDCProvider" in {r["Type"] for r in shop.resources.values()}


def test_every_item_is_account_level_only_with_the_baseline(production: Synth) -> None:
    without = [
        StackTemplate(n, t) for n, t in production.templates.items() if n != "SecurityBaseline"
    ]
    report = audit(without)
    for stack in report.stacks:
        for item in stack.items:
            if item.rule_id in {r.rule_id for r in CHECKLIST if r.account_level}:
                assert item.status is Status.not_met, (stack.stack, item.rule_id)


def test_every_exemption_in_the_rule_data_is_still_needed(all_synths: dict[str, Synth]) -> None:
    """An exemption that no longer matches a problem is stale: remove it from rules.py."""
    used: set[tuple[str, str, str]] = set()
    for synth in all_synths.values():
        stacks = [StackTemplate(n, t) for n, t in synth.templates.items()]
        for stack in stacks:
            for rule in CHECKLIST:
                if rule.check is None:
                    continue
                for problem in rule.check(stack).problems:
                    if rule.exemption(stack.pattern, problem.code):
                        used.add((rule.rule_id, str(stack.pattern), problem.code))
    declared = {(r.rule_id, e.pattern, e.code) for r in CHECKLIST for e in r.exemptions}
    assert declared == used


def _matrix(markdown: str) -> list[str]:
    """The summary table (item × stack statuses) at the top of the Markdown report."""
    lines = []
    for line in markdown.strip().splitlines():
        if not line.startswith("|"):
            break
        lines.append(line)
    return lines


def test_docs_security_md_shows_todays_result(defaults: Synth) -> None:
    result = runner.invoke(app, ["audit", str(defaults.outdir), "--format", "markdown"])
    assert result.exit_code == 0
    doc = (REPO_ROOT / "docs" / "security.md").read_text()
    begin, end = "<!-- cloudmall audit: begin -->", "<!-- cloudmall audit: end -->"
    published = doc.split(begin, 1)[1].split(end, 1)[0]
    assert _matrix(published) == _matrix(result.stdout)
    assert len(_matrix(published)) == 2 + len(CHECKLIST)
