"""The public entrance: one Ingress the AWS Load Balancer Controller turns into an internet-facing
ALB (HTTPS, HTTP redirected, WAF, access logs) with a rule per public path, to the pods' IPs.

The rules are evaluated in order: first the paths that must never be public (a fixed 404: the
contexts' /internal/* routes, /metrics and the probes), then each service's paths as alb_paths.py
derives them from the services' route table (payments' two order sub-paths before orders'
/api/orders prefix), and last the storefront's service for the rest (the storefront's files).
"""

from __future__ import annotations

import json
from typing import Any

from cdk8s import Chart

from cloudmall_infra.k8s.alb_paths import patterns
from cloudmall_infra.k8s.contract import DEFAULT_SERVICE, NOT_PUBLIC
from cloudmall_infra.k8s.objects import api_object
from cloudmall_infra.k8s.settings import Deployment

NAME = "cloudmall"
NOT_FOUND_ACTION = "not-found"
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def _path(path: str, backend: dict[str, Any]) -> dict[str, Any]:
    """An ALB path pattern: ``*`` patterns as they are, a file exactly, a prefix for the rest
    (the controller makes ``/x`` and ``/x/*`` of it)."""
    kind = "ImplementationSpecific" if "*" in path else "Exact" if "." in path else "Prefix"
    return {"path": path, "pathType": kind, "backend": backend}


def _service(name: str) -> dict[str, Any]:
    return {"service": {"name": name, "port": {"name": "http"}}}


def rules() -> list[dict[str, Any]]:
    """The paths in evaluation order, each with its backend."""
    not_found = {"service": {"name": NOT_FOUND_ACTION, "port": {"name": "use-annotation"}}}
    paths = [_path(prefix, not_found) for prefix in NOT_PUBLIC]
    paths += [_path(pattern, _service(service)) for pattern, service in patterns()]
    paths.append(_path("/", _service(DEFAULT_SERVICE.name)))
    return paths


def ingress(chart: Chart, deployment: Deployment) -> None:
    attributes = ",".join(
        [
            "routing.http.drop_invalid_header_fields.enabled=true",
            "access_logs.s3.enabled=true",
            f"access_logs.s3.bucket={deployment.access_logs_bucket}",
            "access_logs.s3.prefix=eks-alb",
        ]
    )
    not_found = {
        "type": "fixed-response",
        "fixedResponseConfig": {
            "contentType": "application/json",
            "statusCode": "404",
            "messageBody": '{"error":{"code":"not_found"}}',
        },
    }
    api_object(
        chart,
        "Ingress",
        NAME,
        {
            "spec": {
                "ingressClassName": "alb",
                "tls": [{"hosts": [deployment.host]}],
                "rules": [{"host": deployment.host, "http": {"paths": rules()}}],
            }
        },
        api_version="networking.k8s.io/v1",
        annotations={
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
            "alb.ingress.kubernetes.io/ssl-redirect": "443",
            "alb.ingress.kubernetes.io/certificate-arn": deployment.certificate_arn,
            "alb.ingress.kubernetes.io/ssl-policy": SSL_POLICY,
            "alb.ingress.kubernetes.io/wafv2-acl-arn": deployment.web_acl_arn,
            "alb.ingress.kubernetes.io/load-balancer-attributes": attributes,
            # the targets' own health: liveness, so a database failover empties no target group
            "alb.ingress.kubernetes.io/healthcheck-path": "/livez",
            "alb.ingress.kubernetes.io/healthcheck-interval-seconds": "15",
            "alb.ingress.kubernetes.io/healthy-threshold-count": "2",
            "alb.ingress.kubernetes.io/unhealthy-threshold-count": "3",
            "alb.ingress.kubernetes.io/target-group-attributes": (
                "deregistration_delay.timeout_seconds=30"
            ),
            f"alb.ingress.kubernetes.io/actions.{NOT_FOUND_ACTION}": json.dumps(
                not_found, separators=(",", ":")
            ),
        },
    )
