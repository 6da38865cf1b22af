"""The cdk8s app: one chart (one file in deploy/k8s/) per unit an operator applies on its own.

- ``00-namespace``: the namespace (restricted Pod Security, ALB readiness gates), the
  SecretStore, the deny-all network policy, the lake exports' service account;
- ``10-<service>-config``: the service's account and the Secret External Secrets writes for it;
- ``20-<service>-migrate``: its migration Job for the version being deployed;
- ``30-<service>``: its Deployment, Service, autoscaler, disruption budget, network policy and
  lake export;
- ``40-ingress``: the ALB.

Applied in that order (docs/deploy-aws.md); rolling one service forward or back is its three
files with another version.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from cdk8s import App, Chart, YamlOutputType

from cloudmall_infra.k8s.contract import NAMESPACE, SERVICES
from cloudmall_infra.k8s.ingress import ingress
from cloudmall_infra.k8s.jobs import lake_export, lake_service_account, migration
from cloudmall_infra.k8s.network_policies import deny_all, service_policies
from cloudmall_infra.k8s.objects import api_object
from cloudmall_infra.k8s.settings import Deployment
from cloudmall_infra.k8s.workloads import SECRET_STORE, external_secret, server, service_account

REPO_ROOT = Path(__file__).resolve().parents[3]
OUTDIR = REPO_ROOT / "deploy" / "k8s"
PROJECT_VERSION = "0.1.0"
MANIFEST_SUFFIX = ".k8s.yaml"  # cdk8s's name for a chart's file
# What the committed manifests name (`make synth`): the example account of docs/deploy-aws.md.
# A deployment synthesizes its own with `python infra/k8s_app.py --help`'s options.
EXAMPLE = Deployment(
    region="ap-northeast-2",
    image_repository="111122223333.dkr.ecr.ap-northeast-2.amazonaws.com/cloudmall",
    versions={service.name: PROJECT_VERSION for service in SERVICES},
    host="shop.example.com",
    certificate_arn=(
        "arn:aws:acm:ap-northeast-2:111122223333:certificate/11111111-2222-3333-4444-555555555555"
    ),
    web_acl_arn=(
        "arn:aws:wafv2:ap-northeast-2:111122223333:regional/webacl/cloudmall-eks/"
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    ),
    access_logs_bucket="cloudmall-eks-access-logs-111122223333",
)


def namespace_chart(app: App, deployment: Deployment) -> None:
    chart = Chart(app, "00-namespace")
    api_object(
        chart,
        "Namespace",
        NAMESPACE,
        {},
        api_version="v1",
        namespaced=False,
        object_labels={
            "kubernetes.io/metadata.name": NAMESPACE,
            "app.kubernetes.io/part-of": "cloudmall",
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            # the ALB takes a new pod only once it is a healthy target (zero-downtime rollouts)
            "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
        },
    )
    # The operator's own identity (Pod Identity, the stack's association for its service
    # account) reads the secrets: no credentials and no token request in the store.
    api_object(
        chart,
        "SecretStore",
        SECRET_STORE,
        {"spec": {"provider": {"aws": {"service": "SecretsManager", "region": deployment.region}}}},
        api_version="external-secrets.io/v1",
        annotations={"argocd.argoproj.io/sync-wave": "-3"},
    )
    deny_all(chart)
    lake_service_account(chart)


def build(outdir: Path, deployment: Deployment) -> App:
    """The charts, not yet synthesized."""
    app = App(outdir=str(outdir), yaml_output_type=YamlOutputType.FILE_PER_CHART)
    namespace_chart(app, deployment)
    for service in SERVICES:
        config = Chart(app, f"10-{service.name}-config")
        service_account(config, service)
        external_secret(config, service, deployment)
        migrate = Chart(app, f"20-{service.name}-migrate")
        migration(migrate, service, deployment)
        workload = Chart(app, f"30-{service.name}")
        server(workload, service, deployment)
        service_policies(workload, service)
        lake_export(workload, service, deployment)
    ingress(Chart(app, "40-ingress"), deployment)
    return app


def synth(outdir: Path = OUTDIR, deployment: Deployment = EXAMPLE) -> list[Path]:
    """Write the manifests into ``outdir``; manifests of an older layout there are removed first
    (nothing else in it is touched)."""
    for stale in outdir.glob(f"*{MANIFEST_SUFFIX}"):
        stale.unlink()
    build(outdir, deployment).synth()
    return sorted(outdir.glob(f"*{MANIFEST_SUFFIX}"))


def main(argv: list[str] | None = None) -> None:
    """``python infra/k8s_app.py``: the example manifests (the committed ones) into deploy/k8s;
    with a deployment's values (the MicroservicesShop stack's outputs), its own."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--outdir", type=Path, default=OUTDIR)
    for field in dataclasses.fields(Deployment):
        if field.name != "versions":
            flag = "--" + field.name.replace("_", "-")
            parser.add_argument(flag, default=getattr(EXAMPLE, field.name))
    parser.add_argument("--version", default=PROJECT_VERSION, help="every service's image tag")
    parser.add_argument(
        "--service-version",
        action="append",
        default=[],
        metavar="SERVICE=TAG",
        help="one service's image tag (repeatable): roll it forward or back on its own",
    )
    args = parser.parse_args(argv)
    versions = {service.name: args.version for service in SERVICES}
    for item in args.service_version:
        name, _, tag = item.partition("=")
        if name not in versions or not tag:
            parser.error(f"--service-version wants SERVICE=TAG of {sorted(versions)}: {item!r}")
        versions[name] = tag
    deployment = Deployment(
        **{
            field.name: getattr(args, field.name)
            for field in dataclasses.fields(Deployment)
            if field.name != "versions"
        },
        versions=versions,
    )
    for path in synth(args.outdir, deployment):
        print(path)
