"""One service's objects: its service account, the Secret External Secrets writes for it, the
Deployment, the Service, the autoscaler and the disruption budget."""

from __future__ import annotations

from typing import Any

from cdk8s import Chart

from cloudmall_infra.k8s.contract import IMAGE_UID, PORT, Service
from cloudmall_infra.k8s.objects import api_object, labels
from cloudmall_infra.k8s.settings import (
    JSON_SECRETS,
    RDS_CA_CONFIG_MAP,
    RDS_CA_DIR,
    VAR_DIR,
    Deployment,
    plain_environment,
    remote_secrets,
    secret_templates,
)

SERVER = "server"
SECRET_STORE = "aws-secrets-manager"  # noqa: S105 - a name, not a secret
# Resources of one single-process pod (CLOUDMALL_WORKERS=1): requests are what the scheduler
# reserves and what the autoscaler's 70 % is a share of; limits stop a runaway pod.
REQUESTS = {"cpu": "250m", "memory": "384Mi"}
LIMITS = {"cpu": "1", "memory": "768Mi"}
MIN_REPLICAS = 2
MAX_REPLICAS = 10
CPU_TARGET_PERCENT = 70
# Readiness: out of the load balancer after 6 failed checks 5 s apart (30 s), so a database
# failover (~20-30 s on RDS Multi-AZ) or a Redis blip does not empty every service at once;
# liveness never looks at a dependency (/livez), so an outage restarts nothing.
READINESS = {"periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 6, "successThreshold": 1}
LIVENESS = {"periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3}
STARTUP = {"periodSeconds": 2, "timeoutSeconds": 3, "failureThreshold": 30}  # up to 60 s to start


# checkov's findings these workloads accept, each with its reason (checkov reads the
# annotations: `make scan`, tests/infra/test_microservices_k8s.py).
CHECKOV_ACCEPTED = {
    "CKV_K8S_43": (
        "The image is named by its version tag in a repository with immutable tags (ECR, "
        "ImageRepository), so a tag names one image forever and a roll-back names the tag"
    ),
    "CKV_K8S_35": (
        "The app reads its settings from environment variables only (pydantic-settings); the "
        "Secret is written by External Secrets and read by this pod alone"
    ),
}


def checkov_annotations() -> dict[str, str]:
    return {
        f"checkov.io/skip{number}": f"{check}={reason}"
        for number, (check, reason) in enumerate(sorted(CHECKOV_ACCEPTED.items()), start=1)
    }


def env_secret_name(service: str) -> str:
    return f"{service}-env"


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": IMAGE_UID,
        "runAsGroup": IMAGE_UID,
        "fsGroup": IMAGE_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": IMAGE_UID,
        "capabilities": {"drop": ["ALL"]},
    }


def volumes() -> list[dict[str, Any]]:
    """The writable places of a read-only container, and the RDS CA bundle."""
    return [
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "var", "emptyDir": {"sizeLimit": "512Mi"}},
        {"name": "rds-ca", "configMap": {"name": RDS_CA_CONFIG_MAP}},
    ]


def volume_mounts() -> list[dict[str, Any]]:
    return [
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
        {"name": "var", "mountPath": VAR_DIR},
        {"name": "rds-ca", "mountPath": RDS_CA_DIR, "readOnly": True},
    ]


def container(
    service: Service,
    deployment: Deployment,
    *,
    name: str,
    command: list[str],
) -> dict[str, Any]:
    """The image with the service's settings, read-only and unprivileged, within limits."""
    found: dict[str, Any] = {
        "name": name,
        "image": deployment.image(service.name),
        "command": command,
        "imagePullPolicy": "Always",
        "env": [
            {"name": key, "value": value}
            for key, value in sorted(plain_environment(service, deployment).items())
        ],
        "envFrom": [{"secretRef": {"name": env_secret_name(service.name)}}],
        "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
        "securityContext": container_security(),
        "volumeMounts": volume_mounts(),
    }
    return found


def service_account(chart: Chart, service: Service) -> None:
    """The pods' identity; EKS Pod Identity associates an IAM role with it (the stack's
    associations, by namespace and name). No Kubernetes API token is mounted: the services never
    call the API, and Pod Identity's webhook mounts its own token."""
    api_object(
        chart,
        "ServiceAccount",
        service.service_account,
        {"automountServiceAccountToken": False},
        api_version="v1",
        object_labels=labels(service.name, SERVER),
        annotations={"argocd.argoproj.io/sync-wave": "-2"},
    )


def external_secret(chart: Chart, service: Service, deployment: Deployment) -> None:
    """The Secret ``<service>-env``, written and refreshed hourly by External Secrets Operator
    from Secrets Manager (SecretStore ``aws-secrets-manager``)."""
    data = []
    data_from = []
    for prefix, remote in sorted(remote_secrets(service).items()):
        if prefix in JSON_SECRETS:
            data_from.append(
                {
                    "extract": {"key": remote},
                    "rewrite": [{"regexp": {"source": "(.*)", "target": f"{prefix}_$1"}}],
                }
            )
        else:
            data.append({"secretKey": prefix, "remoteRef": {"key": remote}})
    api_object(
        chart,
        "ExternalSecret",
        env_secret_name(service.name),
        {
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE},
                "target": {
                    "name": env_secret_name(service.name),
                    "creationPolicy": "Owner",
                    "template": {
                        "engineVersion": "v2",
                        "data": dict(sorted(secret_templates(service, deployment).items())),
                    },
                },
                "data": data,
                "dataFrom": data_from,
            }
        },
        api_version="external-secrets.io/v1",
        object_labels=labels(service.name, SERVER),
        annotations={"argocd.argoproj.io/sync-wave": "-2"},
    )


def server(chart: Chart, service: Service, deployment: Deployment) -> None:
    """Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget of ``service``."""
    selector = {"app.kubernetes.io/name": service.name, "app.kubernetes.io/component": SERVER}
    app = container(service, deployment, name=service.name, command=["cloudmall", "serve"])
    app["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    app["startupProbe"] = {"httpGet": {"path": "/livez", "port": "http"}, **STARTUP}
    app["livenessProbe"] = {"httpGet": {"path": "/livez", "port": "http"}, **LIVENESS}
    app["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "http"}, **READINESS}
    # The ALB keeps sending for a moment after the pod is taken out: wait before SIGTERM
    # (the server then drains for up to 20 s).
    app["lifecycle"] = {"preStop": {"sleep": {"seconds": 10}}}
    api_object(
        chart,
        "Deployment",
        service.name,
        {
            "spec": {
                # no replicas: the autoscaler owns the count (an apply must not reset it)
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {"labels": labels(service.name, SERVER)},
                    "spec": {
                        "serviceAccountName": service.service_account,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security(),
                        "terminationGracePeriodSeconds": 40,
                        "containers": [app],
                        "volumes": volumes(),
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "topology.kubernetes.io/zone",
                                "whenUnsatisfiable": "DoNotSchedule",
                                "labelSelector": {"matchLabels": selector},
                            },
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": selector},
                            },
                        ],
                    },
                },
            }
        },
        api_version="apps/v1",
        object_labels=labels(service.name, SERVER),
        annotations=checkov_annotations(),
    )
    api_object(
        chart,
        "Service",
        service.name,
        {
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            }
        },
        api_version="v1",
        object_labels=labels(service.name, SERVER),
    )
    api_object(
        chart,
        "HorizontalPodAutoscaler",
        service.name,
        {
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": service.name,
                },
                "minReplicas": MIN_REPLICAS,
                "maxReplicas": MAX_REPLICAS,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": CPU_TARGET_PERCENT,
                            },
                        },
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            }
        },
        api_version="autoscaling/v2",
        object_labels=labels(service.name, SERVER),
    )
    api_object(
        chart,
        "PodDisruptionBudget",
        service.name,
        {"spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}}},
        api_version="policy/v1",
        object_labels=labels(service.name, SERVER),
    )
