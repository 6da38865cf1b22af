"""Raw Kubernetes objects in a cdk8s chart: kind, name and body as the API documents them
(validated against the cluster version's OpenAPI schemas by the tests, not by Python types)."""

from __future__ import annotations

from typing import Any

from cdk8s import ApiObject, ApiObjectMetadata, Chart, JsonPatch

from cloudmall_infra.k8s.contract import NAMESPACE

PART_OF = "cloudmall"


def labels(service: str, component: str) -> dict[str, str]:
    """The labels every pod and object of a service carries; policies select on them."""
    return {
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
    }


def api_object(
    chart: Chart,
    kind: str,
    name: str,
    body: dict[str, Any],
    *,
    api_version: str,
    object_labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    namespaced: bool = True,
) -> ApiObject:
    """``kind`` ``name`` with ``body`` (its spec, data, ... : every top-level field but the
    metadata) in the shop's namespace."""
    found = ApiObject(
        chart,
        f"{kind}-{name}",
        api_version=api_version,
        kind=kind,
        metadata=ApiObjectMetadata(
            name=name,
            namespace=NAMESPACE if namespaced else None,
            labels=object_labels or {"app.kubernetes.io/part-of": PART_OF},
            annotations=annotations,
        ),
    )
    for field, value in body.items():
        found.add_json_patch(JsonPatch.add(f"/{field}", value))
    return found
