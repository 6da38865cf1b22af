"""The services topology's Kubernetes manifests (deploy/k8s/, from infra/cloudmall_infra/k8s).

Offline: the committed files are what a fresh cdk8s synth writes; every object validates
against the API schemas of the cluster's Kubernetes version (kubernetes-validate, strict); each
service has its probes, limits, autoscaler, disruption budget and network isolation; no secret
value is in a manifest; the ALB routes each public path to its service and no internal one; the
processes start with what the manifests give them. checkov runs over the same files in
`make scan` (each accepted finding annotated with its reason, checked here).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import kubernetes_validate
import pytest
import yaml
from infra_synth import REPO_ROOT
from pydantic import SecretStr
from test_process_settings import settings_of

from cloudmall.config import Settings
from cloudmall_infra.k8s.contract import (
    BY_NAME,
    DATA_SUBNET_CIDRS,
    KUBERNETES_VERSION,
    NAMESPACE,
    POD_IDENTITY_AGENT,
    PUBLIC_SUBNET_CIDRS,
    SECRET_PREFIX,
    SERVICES,
    VPC_CIDR,
)
from cloudmall_infra.k8s.manifests import main, synth

MANIFESTS = REPO_ROOT / "deploy" / "k8s"
# Kinds of External Secrets Operator: their schemas are the operator's CRDs, not Kubernetes'.
OPERATOR_KINDS = {"ExternalSecret", "SecretStore"}
WORKLOAD_KINDS = {"Deployment", "Job", "CronJob"}


def documents(directory: Path) -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(directory.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return documents(MANIFESTS)


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return workload["spec"]["template"]["metadata"]["labels"]


def containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{o['kind']}/{o['metadata']['name']}", container)
        for o in objects
        if o["kind"] in WORKLOAD_KINDS
        for container in pod_spec(o)["containers"]
    ]


def test_the_committed_manifests_are_what_a_fresh_synth_writes(tmp_path: Path) -> None:
    written = synth(tmp_path / "k8s")
    assert [p.name for p in written] == sorted(p.name for p in MANIFESTS.glob("*.yaml"))
    for path in written:
        assert path.read_text() == (MANIFESTS / path.name).read_text(), (
            f"deploy/k8s/{path.name} is stale: run `make synth` and commit it"
        )


def test_one_service_rolls_forward_with_its_own_files_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("kept")
    main(["--outdir", str(tmp_path), "--service-version", "orders=0.2.0"])
    changed = sorted(
        path.name
        for path in MANIFESTS.glob("*.yaml")
        if (tmp_path / path.name).read_text() != path.read_text()
    )
    assert changed == ["20-orders-migrate.k8s.yaml", "30-orders.k8s.yaml"]
    migrate = documents(tmp_path)
    assert "orders-migrate-0-2-0" in of_kind(migrate, "Job")
    assert (tmp_path / "notes.txt").read_text() == "kept"
    assert str(tmp_path / "30-orders.k8s.yaml") in capsys.readouterr().out


def test_a_service_version_names_a_known_service(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--outdir", str(tmp_path), "--service-version", "billing=0.2.0"])


def test_every_object_validates_against_the_clusters_kubernetes_schemas(
    objects: list[dict[str, Any]],
) -> None:
    operator_objects = set()
    for document in objects:
        if document["kind"] in OPERATOR_KINDS:
            operator_objects.add(document["kind"])
            continue
        kubernetes_validate.validate(document, f"{KUBERNETES_VERSION}.0", strict=True)
    assert operator_objects == OPERATOR_KINDS
    assert all(
        o["metadata"].get("namespace") == NAMESPACE for o in objects if o["kind"] != "Namespace"
    )


def test_the_validator_refuses_what_the_cluster_would() -> None:
    """kubernetes-validate is strict: an unknown field fails (so the test above can fail)."""
    deployment = next(o for o in documents(MANIFESTS) if o["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replicaz": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, f"{KUBERNETES_VERSION}.0", strict=True)


def test_each_service_has_its_objects(objects: list[dict[str, Any]]) -> None:
    for service in SERVICES:
        name = service.name
        assert name in of_kind(objects, "Deployment")
        assert of_kind(objects, "Service")[name]["spec"]["type"] == "ClusterIP"
        assert name in of_kind(objects, "ServiceAccount")
        assert f"{name}-env" in of_kind(objects, "ExternalSecret")
        assert name in of_kind(objects, "NetworkPolicy")
        assert f"{name}-lake-export" in of_kind(objects, "CronJob")
        assert any(job.startswith(f"{name}-migrate-") for job in of_kind(objects, "Job"))


def test_servers_probe_liveness_and_readiness_and_tolerate_a_brief_outage(
    objects: list[dict[str, Any]],
) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        (container,) = pod_spec(deployment)["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez", name
        assert container["startupProbe"]["httpGet"]["path"] == "/livez", name
        readiness = container["readinessProbe"]
        assert readiness["httpGet"]["path"] == "/readyz", name
        # a dependency's failover (~30 s) takes no pod out of the load balancer sooner
        assert readiness["periodSeconds"] * readiness["failureThreshold"] >= 30, name
        liveness = container["livenessProbe"]
        assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 30, name
        assert "replicas" not in deployment["spec"], f"{name}: the autoscaler owns the count"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_every_container_is_unprivileged_read_only_and_limited(
    objects: list[dict[str, Any]],
) -> None:
    found = containers(objects)
    assert len(found) == 3 * len(SERVICES)  # server, migration, lake export
    for name, container in found:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["runAsNonRoot"] is True, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}, name
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}, name
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"/tmp", "/var/lib/cloudmall"} <= mounts, name  # noqa: S108 - emptyDirs
    for workload in [o for o in objects if o["kind"] in WORKLOAD_KINDS]:
        volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
        assert "emptyDir" in volumes["tmp"] and "emptyDir" in volumes["var"]
        assert pod_spec(workload)["automountServiceAccountToken"] is False


def test_servers_spread_across_zones(objects: list[dict[str, Any]]) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        spread = pod_spec(deployment)["topologySpreadConstraints"]
        zone = next(c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone")
        assert zone["whenUnsatisfiable"] == "DoNotSchedule", name
        assert zone["labelSelector"]["matchLabels"].items() <= pod_labels(deployment).items()


def test_images_are_pinned_to_a_version(objects: list[dict[str, Any]]) -> None:
    for name, container in containers(objects):
        image = container["image"]
        repository, _, tag = image.rpartition(":")
        assert "@sha256:" in image or (
            repository.endswith("/cloudmall") and tag and tag != "latest"
        ), f"{name}: {image}"


def test_each_service_scales_on_cpu_and_keeps_a_pod_through_disruptions(
    objects: list[dict[str, Any]],
) -> None:
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    budgets = of_kind(objects, "PodDisruptionBudget")
    deployments = of_kind(objects, "Deployment")
    for service in SERVICES:
        spec = autoscalers[service.name]["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": service.name,
        }
        assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
        (metric,) = spec["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["averageUtilization"] == 70
        budget = budgets[service.name]["spec"]
        assert budget["maxUnavailable"] == 1
        labels = pod_labels(deployments[service.name])
        assert budget["selector"]["matchLabels"].items() <= labels.items()


# ---- network policies: who may open a connection to whom ----------------------------------


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def _port_allowed(rule: dict[str, Any], port: int) -> bool:
    return "ports" not in rule or any(p["port"] == port for p in rule["ports"])


def _policies_for(objects: list[dict[str, Any]], labels: dict[str, str], kind: str):
    return [
        p["spec"]
        for p in of_kind(objects, "NetworkPolicy").values()
        if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], labels)
    ]


def may_connect(
    objects: list[dict[str, Any]], source: dict[str, str], target: dict[str, str], port: int
) -> bool:
    """Both sides' policies allow a pod with labels `source` to reach `target` on `port`."""
    egress = any(
        _port_allowed(rule, port)
        and any(
            "podSelector" in peer and _selects(peer["podSelector"], target) for peer in rule["to"]
        )
        for spec in _policies_for(objects, source, "Egress")
        for rule in spec.get("egress", [])
    )
    ingress = any(
        _port_allowed(rule, port)
        and any(
            "podSelector" in peer and _selects(peer["podSelector"], source) for peer in rule["from"]
        )
        for spec in _policies_for(objects, target, "Ingress")
        for rule in spec.get("ingress", [])
    )
    return egress and ingress


def server_labels(objects: list[dict[str, Any]], service: str) -> dict[str, str]:
    return pod_labels(of_kind(objects, "Deployment")[service])


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("orders", "products", True),  # StockDesk
        ("orders", "payments", True),  # PaymentDesk (refunds)
        ("payments", "orders", True),  # OrderBook
        ("products", "payments", False),
        ("products", "orders", False),
        ("products", "users", False),
        ("users", "orders", False),
        ("users", "payments", False),
        ("orders", "users", True),  # AddressBook (an order to a saved address)
        ("payments", "products", False),
        ("payments", "users", False),
    ],
)
def test_services_reach_each_other_only_as_the_contract_needs(
    objects: list[dict[str, Any]], source: str, target: str, allowed: bool
) -> None:
    labels = server_labels(objects, source), server_labels(objects, target)
    assert may_connect(objects, *labels, 8000) is allowed


def test_everything_is_denied_unless_a_policy_allows_it(objects: list[dict[str, Any]]) -> None:
    deny = of_kind(objects, "NetworkPolicy")["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    migration = {"app.kubernetes.io/name": "orders", "app.kubernetes.io/component": "migrate"}
    assert not may_connect(objects, server_labels(objects, "payments"), migration, 8000)


def test_only_the_load_balancers_subnets_reach_the_servers_from_outside(
    objects: list[dict[str, Any]],
) -> None:
    for service in SERVICES:
        (rule,) = of_kind(objects, "NetworkPolicy")[service.name]["spec"]["ingress"]
        blocks = [peer["ipBlock"]["cidr"] for peer in rule["from"] if "ipBlock" in peer]
        assert blocks == list(PUBLIC_SUBNET_CIDRS), service.name
        assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]


def test_egress_is_dns_the_data_tier_the_peers_and_s3_where_needed(
    objects: list[dict[str, Any]],
) -> None:
    for service in SERVICES:
        spec = of_kind(objects, "NetworkPolicy")[service.name]["spec"]
        blocks = {
            (peer["ipBlock"]["cidr"], tuple(peer["ipBlock"].get("except", [])))
            for rule in spec["egress"]
            for peer in rule.get("to", [])
            if "ipBlock" in peer
        }
        expected = {(cidr, ()) for cidr in DATA_SUBNET_CIDRS}
        if service.media:
            expected |= {("0.0.0.0/0", (VPC_CIDR,)), (POD_IDENTITY_AGENT, ())}
        assert blocks == expected, service.name
        data_rule = next(
            r
            for r in spec["egress"]
            if r["to"][0].get("ipBlock", {}).get("cidr") == DATA_SUBNET_CIDRS[0]
        )
        assert {p["port"] for p in data_rule["ports"]} == {3306, 6379}


# ---- secrets ------------------------------------------------------------------------------

#: The settings the app itself treats as secret (SecretStr), and the credentials given apart.
SECRET_VARIABLES = {
    f"CLOUDMALL_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if field.annotation is SecretStr
} | {"CLOUDMALL_DATABASE_USERNAME", "CLOUDMALL_INTERNAL_SECRET", "CLOUDMALL_TOKEN_VERIFY_KEYS"}
LOOKS_SECRET = re.compile(r"-----BEGIN|[A-Za-z0-9+/_-]{32,}")


def test_no_secret_value_is_in_a_manifest(objects: list[dict[str, Any]]) -> None:
    assert {"CLOUDMALL_SECRET_KEY", "CLOUDMALL_DATABASE_PASSWORD"} <= SECRET_VARIABLES
    assert not [o for o in objects if o["kind"] in {"Secret", "ConfigMap"}]
    for name, container in containers(objects):
        for variable in container["env"]:
            assert set(variable) == {"name", "value"}, name
            assert variable["name"] not in SECRET_VARIABLES, f"{name}: {variable['name']}"
            assert not LOOKS_SECRET.search(variable["value"]), f"{name}: {variable['name']}"
        assert container["envFrom"] == [{"secretRef": {"name": f"{pod_name(name, objects)}-env"}}]


def pod_name(workload: str, objects: list[dict[str, Any]]) -> str:
    kind, _, name = workload.partition("/")
    found = next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
    return pod_labels(found)["app.kubernetes.io/name"]


def test_secrets_come_from_secrets_manager_through_external_secrets(
    objects: list[dict[str, Any]],
) -> None:
    (store,) = of_kind(objects, "SecretStore").values()
    assert store["spec"]["provider"]["aws"]["service"] == "SecretsManager"
    assert "auth" not in store["spec"]["provider"]["aws"]  # the operator's Pod Identity
    for service in SERVICES:
        external = of_kind(objects, "ExternalSecret")[f"{service.name}-env"]["spec"]
        assert external["secretStoreRef"] == {
            "kind": "SecretStore",
            "name": store["metadata"]["name"],
        }
        keys = [item["remoteRef"]["key"] for item in external["data"]]
        keys += [item["extract"]["key"] for item in external["dataFrom"]]
        assert all(key.startswith(SECRET_PREFIX) for key in keys)
        assert f"{SECRET_PREFIX}{service.name}/database" in keys
        assert not any(
            f"/{other.name}/" in key for other in SERVICES if other is not service for key in keys
        )
        templates = external["target"]["template"]["data"]
        signing = "CLOUDMALL_TOKEN_SIGNING_KEY" in templates
        assert signing is service.signs_tokens
        assert ("CLOUDMALL_TOKEN_VERIFY_KEYS" in templates) is not service.signs_tokens
        assert ("CLOUDMALL_STORAGE_URL" in templates) is service.media


def test_checkov_findings_accepted_in_the_manifests_carry_a_reason(
    objects: list[dict[str, Any]],
) -> None:
    skips = [
        value
        for o in objects
        for key, value in (o["metadata"].get("annotations") or {}).items()
        if key.startswith("checkov.io/skip")
    ]
    assert skips
    for skip in skips:
        check, _, reason = skip.partition("=")
        assert re.fullmatch(r"CKV2?_K8S_\d+", check) and len(reason) > 60, skip


# ---- the ALB ------------------------------------------------------------------------------


def alb_route(objects: list[dict[str, Any]], path: str) -> str:
    """The backend of the first rule whose pattern matches, as the ALB evaluates them."""
    (ingress,) = of_kind(objects, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    for entry in rule["http"]["paths"]:
        pattern, kind = entry["path"], entry["pathType"]
        matched = (
            (kind == "Exact" and path == pattern)
            or (
                kind == "Prefix" and (path == pattern or path.startswith(pattern.rstrip("/") + "/"))
            )
            or (kind == "ImplementationSpecific" and fnmatch.fnmatchcase(path, pattern))
        )
        if matched:
            return entry["backend"]["service"]["name"]
    raise AssertionError(f"no rule for {path}")


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/", "products"),
        ("/static/app.js", "products"),
        ("/api/auth/login", "users"),
        ("/api/auth/password", "users"),
        ("/api/account/profile", "users"),
        ("/api/account/addresses/3/default", "users"),
        ("/api/admin/users/7/role", "users"),
        ("/.well-known/jwks.json", "users"),
        ("/api/products", "products"),
        ("/api/products/12/image", "products"),
        ("/api/categories", "products"),
        ("/api/admin/categories/2", "products"),
        ("/api/shop/info", "products"),
        ("/media/ab/cd.webp", "products"),
        ("/api/orders", "orders"),
        ("/api/orders/41", "orders"),
        ("/api/orders/41/cancel", "orders"),
        ("/api/orders/41/address", "orders"),
        ("/api/admin/orders/41/ship", "orders"),
        ("/api/admin/overview", "orders"),
        ("/api/delivery/carriers", "orders"),
        ("/api/delivery/quote", "orders"),
        ("/api/orders/41/pay", "payments"),
        ("/api/orders/41/payments", "payments"),
        ("/internal/v1/stock/reservations", "not-found"),
        ("/internal", "not-found"),
        ("/metrics", "not-found"),
        ("/readyz", "not-found"),
    ],
)
def test_the_alb_routes_each_public_path_to_its_service(
    objects: list[dict[str, Any]], path: str, service: str
) -> None:
    assert alb_route(objects, path) == service


def _example(template: str) -> str:
    """A concrete path for a route's template: every parameter a plausible value."""
    return re.sub(r"\{[^}]+\}", lambda m: "ab/cd.webp" if ":path" in m[0] else "7", template)


def test_the_alb_and_the_local_gateway_send_every_route_to_the_same_service(
    objects: list[dict[str, Any]],
) -> None:
    """One ownership table (cloudmall.web.service_routes) serves the services' apps, the local
    gateway and (derived by alb_paths.py) the ALB's rules: every public route is walked."""
    from cloudmall.web.service_routes import OWNERSHIP, STOREFRONT

    for service, routes in OWNERSHIP.items():
        for _, template in routes:
            assert alb_route(objects, _example(template)) == service.value, template
    assert alb_route(objects, "/index.html") == STOREFRONT.value


def test_the_alb_is_https_with_a_firewall_and_a_fixed_404_for_internal_paths(
    objects: list[dict[str, Any]],
) -> None:
    (ingress,) = of_kind(objects, "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    assert annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"].startswith("arn:aws:wafv2:")
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert '"statusCode":"404"' in annotations["alb.ingress.kubernetes.io/actions.not-found"]
    backends = {
        entry["backend"]["service"]["name"]
        for entry in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert backends == {*BY_NAME, "not-found"}


# ---- the processes' settings --------------------------------------------------------------

#: What each remote secret holds, by its template name (shapes the app checks).
REMOTE_VALUES = {
    "db_host": "cloudmall-eks-x.abcdefghij.ap-northeast-2.rds.amazonaws.com",
    "db_port": "3306",
    "db_dbname": "orders",
    "db_username": "cloudmall",
    "db_password": "p" * 32,
    "cache": "c/+" * 11,  # AUTH tokens may hold characters a URL must escape
    "endpoints_cache_host": "master.cache.abcdef.apn2.cache.amazonaws.com",
    "endpoints_media_bucket": "media-bucket",
    "endpoints_lake_bucket": "lake-bucket",
    "secret_key": "s" * 64,
    "internal_secret": "i" * 64,
    "token_signing_key": "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n",
    "token_verify_keys": "-----BEGIN PUBLIC KEY-----\nkey\n-----END PUBLIC KEY-----\n",
}
TEMPLATE = re.compile(r"\{\{ \.(\w+)( \| urlquery)? \}\}")


def rendered(template: str) -> str:
    """An External Secrets template as the operator renders it (the two forms used here)."""

    def value(found: re.Match[str]) -> str:
        text = REMOTE_VALUES[found.group(1)]
        return quote_plus(text) if found.group(2) else text

    return TEMPLATE.sub(value, template)


def test_every_process_starts_with_what_its_manifests_give(
    objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    externals = of_kind(objects, "ExternalSecret")
    for name, container in containers(objects):
        environment = {variable["name"]: variable["value"] for variable in container["env"]}
        secret = externals[container["envFrom"][0]["secretRef"]["name"]]
        for key, template in secret["spec"]["target"]["template"]["data"].items():
            environment[key] = rendered(template)
        try:
            settings = settings_of(monkeypatch, environment)
        except ValueError as refused:
            pytest.fail(f"{name} would not start: {refused}")
        assert settings.environment.value == "production", name
        assert settings.runtime.value == "service", name
        assert settings.cache_url.startswith("rediss://:"), name  # the password went in
        assert settings.database_url.startswith("mysql+asyncmy://cloudmall:"), name
        service = BY_NAME[environment["CLOUDMALL_SERVICE"]]
        for peer in service.calls:
            assert environment[f"CLOUDMALL_{peer.upper()}_URL"] == BY_NAME[peer].url
