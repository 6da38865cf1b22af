"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from cloudmall.health import check_tiers
from cloudmall.web.deps import ContainerDep

router = APIRouter(tags=["operations"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process is up (it does not look at the tiers: a database outage must not restart it)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready: a required tier is down"}})
async def readyz(container: ContainerDep) -> JSONResponse:
    """Ready to serve: database reachable and migrated, object store usable; cache optional."""
    tiers = await check_tiers(container)
    ready = all(tier.ok for tier in tiers if tier.required)
    degraded = ready and not all(tier.ok for tier in tiers)
    body = {
        "status": "degraded" if degraded else ("ok" if ready else "unavailable"),
        "tiers": {tier.name: {"ok": tier.ok, "detail": tier.detail} for tier in tiers},
    }
    return JSONResponse(
        body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"}
    )


# Not in the public API's schema: only CLOUDMALL_METRICS_ALLOW's networks get it (web/guards.py).
@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text format; across all worker processes when PROMETHEUS_MULTIPROC_DIR is set."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
