"""Shared by the tests/infra modules: test context, and synthesizing the app into a Synth."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "infra"))

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from cloudmall_infra import build_app  # noqa: E402

ACCOUNT = "111122223333"
REGION = "ap-northeast-2"
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
CDN_CERTIFICATE_ARN = (
    f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/66666666-7777-8888-9999-000000000000"
)
ALARM_EMAIL = "ops@shop.example.com"
HOSTED_ZONE_ID = "Z0123456789ABCDEFGHIJ"
GITHUB_CONNECTION_ARN = (
    f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

# What an operator passes for a real deployment (docs/deploy-aws.md).
PRODUCTION_CONTEXT: dict[str, Any] = {
    "account": ACCOUNT,
    "region": REGION,
    "availability_zones": [f"{REGION}a", f"{REGION}c"],
    "certificate_arn": CERTIFICATE_ARN,
    "alarm_email": ALARM_EMAIL,
    "cdn_domain_name": "cdn.shop.example.com",
    "cdn_certificate_arn": CDN_CERTIFICATE_ARN,
    "domain_name": "event.shop.example.com",
    "hosted_zone_id": HOSTED_ZONE_ID,
    "hosted_zone_name": "shop.example.com",
    "single_server_ami": "ami-0123456789abcdef0",
    "github_connection_arn": GITHUB_CONNECTION_ARN,
    "github_repository": "example-shop/cloudmall",
    "github_branch": "release",
    # a name the operator points at the load balancers clients reach directly
    "alb_domain_names": "shop.example.com",
}
# The guide's intranet pattern: an internal ALB, CloudFront only for media and storefront.
# The intranet variant, in a region without Lambda SnapStart for Python (the functions then serve
# API Gateway themselves, not through a "live" alias).
INTERNAL_CONTEXT: dict[str, Any] = {**PRODUCTION_CONTEXT, "internal_alb": True, "snap_start": False}


@dataclass
class Synth:
    """One synthesized cloud assembly: the app (for cdk-nag) and its templates."""

    app: App
    outdir: Path
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template(self, stack: str) -> Template:
        return Template.from_json(self.templates[stack])

    def resources(self, stack: str, type_: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack]["Resources"].items()
            if resource["Type"] == type_
        }


def synthesize(outdir: Path, context: dict[str, Any]) -> Synth:
    app = build_app(outdir=outdir, context=context)
    app.synth()  # cdk-nag runs here: an unacknowledged finding fails the synthesis
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(outdir.glob("*.template.json"))
    }
    return Synth(app=app, outdir=outdir, templates=templates)


def rendered(value: Any) -> str:
    """A CloudFormation string as text, each reference shown as <LogicalId> or <LogicalId.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(rendered(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"not a string the tests can read: {value!r}")


def host_names(value: Any) -> list[str]:
    """CLOUDMALL_ALLOWED_HOSTS as the app splits it (comma-separated)."""
    return [name.strip() for name in rendered(value).split(",") if name.strip()]
