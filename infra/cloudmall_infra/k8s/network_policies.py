"""Who may talk to whom (the VPC CNI's network policy agent enforces it: microservices_shop.py).

Everything is denied in the namespace, then each service is allowed, in: the ALB's nodes (the
public subnets: with IP targets the ALB connects to the pods itself, not through the controller's
pods) and the services that call its internal routes; out: DNS, its database and Redis (the data
subnets), the services it calls, and S3 and Pod Identity's agent where it uses S3.

NetworkPolicy filters on ports, not paths: the internal routes share the service's port with its
public ones. What keeps /internal/* private is that the ALB has no rule for it (ingress.py) and
that the internal routes want CLOUDMALL_INTERNAL_SECRET.
"""

from __future__ import annotations

from typing import Any

from cdk8s import Chart

from cloudmall_infra.k8s.contract import (
    DATA_SUBNET_CIDRS,
    MYSQL_PORT,
    POD_IDENTITY_AGENT,
    PORT,
    PUBLIC_SUBNET_CIDRS,
    REDIS_PORT,
    VPC_CIDR,
    Service,
    callers,
)
from cloudmall_infra.k8s.objects import api_object, labels
from cloudmall_infra.k8s.workloads import SERVER

API_VERSION = "networking.k8s.io/v1"


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def deny_all(chart: Chart) -> None:
    """Nothing in, nothing out, for every pod of the namespace unless a policy below allows it."""
    api_object(
        chart,
        "NetworkPolicy",
        "default-deny",
        {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        api_version=API_VERSION,
    )


def dns_egress() -> dict[str, Any]:
    return {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def data_egress() -> list[dict[str, Any]]:
    """MySQL and Redis in the data subnets. Which database a pod may use is its credentials':
    each service's secret opens its own RDS instance only."""
    to = [{"ipBlock": {"cidr": cidr}} for cidr in DATA_SUBNET_CIDRS]
    return [{"to": to, "ports": [_tcp(MYSQL_PORT), _tcp(REDIS_PORT)]}]


def s3_egress() -> list[dict[str, Any]]:
    """HTTPS to S3 (public addresses reached through the VPC's gateway endpoint: no address
    range of the VPC itself) and Pod Identity's agent on the node, for the credentials."""
    return [
        {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [VPC_CIDR]}}],
            "ports": [_tcp(443)],
        },
        {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": [_tcp(80)]},
    ]


def server_selector(service: str) -> dict[str, Any]:
    return {
        "matchLabels": {"app.kubernetes.io/name": service, "app.kubernetes.io/component": SERVER}
    }


def service_policies(chart: Chart, service: Service) -> None:
    """The service's servers: in from the ALB and its callers; out to what it uses."""
    sources: list[dict[str, Any]] = [{"ipBlock": {"cidr": cidr}} for cidr in PUBLIC_SUBNET_CIDRS]
    sources += [{"podSelector": server_selector(caller)} for caller in callers(service.name)]
    egress = [dns_egress(), *data_egress()]
    egress += [
        {"to": [{"podSelector": server_selector(peer)}], "ports": [_tcp(PORT)]}
        for peer in service.calls
    ]
    if service.media:
        egress += s3_egress()
    api_object(
        chart,
        "NetworkPolicy",
        service.name,
        {
            "spec": {
                "podSelector": server_selector(service.name),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": sources, "ports": [_tcp(PORT)]}],
                "egress": egress,
            }
        },
        api_version=API_VERSION,
        object_labels=labels(service.name, SERVER),
    )


def job_policy(chart: Chart, service: Service, component: str, *, s3: bool) -> None:
    """A job's pods (migration, lake export): nothing in; DNS, the data tier (and S3) out."""
    egress = [dns_egress(), *data_egress(), *(s3_egress() if s3 else [])]
    api_object(
        chart,
        "NetworkPolicy",
        f"{service.name}-{component}",
        {
            "spec": {
                "podSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": service.name,
                        "app.kubernetes.io/component": component,
                    }
                },
                "policyTypes": ["Ingress", "Egress"],
                "egress": egress,
            }
        },
        api_version=API_VERSION,
        object_labels=labels(service.name, component),
    )
