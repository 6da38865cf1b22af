"""The jobs around a service: its migration before each rollout, and its lake export.

Migrations (``cloudmall migrate``) run as a Job named after the image's version, applied and
waited for before the Deployment (docs/deploy-aws.md: `kubectl apply` of `<service>-migrate`,
`kubectl wait --for=condition=complete`, then `<service>`); under Argo CD the sync waves order
the same (the service's Secret, wave -2; the Job, wave -1, which Argo CD waits to complete; the
Deployment, wave 0). The migration lock makes a
second concurrent run wait, and a run with nothing to do ends at once.
"""

from __future__ import annotations

import re

from cdk8s import Chart

from cloudmall_infra.k8s.contract import LAKE_SERVICE_ACCOUNT, Service
from cloudmall_infra.k8s.network_policies import job_policy
from cloudmall_infra.k8s.objects import api_object, labels
from cloudmall_infra.k8s.settings import Deployment
from cloudmall_infra.k8s.workloads import (
    checkov_annotations,
    container,
    pod_security,
    volumes,
)

MIGRATE = "migrate"
LAKE_EXPORT = "lake-export"
LAKE_SCHEDULE = "*/5 * * * *"  # as the ECS stack's scheduled task


def job_name(service: str, version: str) -> str:
    """``<service>-migrate-<version>``: one Job per version (a Job's pod template is
    immutable), within the 63 characters of a label value."""
    slug = re.sub(r"[^a-z0-9-]+", "-", version.lower()).strip("-")
    return f"{service}-{MIGRATE}-{slug}"[:63].rstrip("-")


def _pod(service: Service, deployment: Deployment, component: str, command: list[str]) -> dict:
    return {
        "metadata": {"labels": labels(service.name, component)},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": (
                LAKE_SERVICE_ACCOUNT if component == LAKE_EXPORT else service.service_account
            ),
            "automountServiceAccountToken": False,
            "securityContext": pod_security(),
            "containers": [container(service, deployment, name=component, command=command)],
            "volumes": volumes(),
        },
    }


def migration(chart: Chart, service: Service, deployment: Deployment) -> None:
    version = deployment.versions[service.name]
    api_object(
        chart,
        "Job",
        job_name(service.name, version),
        {
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 900,
                "ttlSecondsAfterFinished": 86_400,
                "template": _pod(service, deployment, MIGRATE, ["cloudmall", "migrate"]),
            }
        },
        api_version="batch/v1",
        object_labels=labels(service.name, MIGRATE),
        annotations={"argocd.argoproj.io/sync-wave": "-1", **checkov_annotations()},
    )
    job_policy(chart, service, MIGRATE, s3=False)


def lake_export(chart: Chart, service: Service, deployment: Deployment) -> None:
    """``cloudmall lake export`` of the context's outbox every 5 minutes, one run at a time."""
    api_object(
        chart,
        "CronJob",
        f"{service.name}-{LAKE_EXPORT}",
        {
            "spec": {
                "schedule": LAKE_SCHEDULE,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 240,
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 1,
                        "activeDeadlineSeconds": 280,
                        "template": _pod(
                            service, deployment, LAKE_EXPORT, ["cloudmall", "lake", "export"]
                        ),
                    }
                },
            }
        },
        api_version="batch/v1",
        object_labels=labels(service.name, LAKE_EXPORT),
        annotations=checkov_annotations(),
    )
    job_policy(chart, service, LAKE_EXPORT, s3=True)


def lake_service_account(chart: Chart) -> None:
    """The lake exports' identity: Pod Identity gives it the lake bucket only."""
    api_object(
        chart,
        "ServiceAccount",
        LAKE_SERVICE_ACCOUNT,
        {"automountServiceAccountToken": False},
        api_version="v1",
    )
