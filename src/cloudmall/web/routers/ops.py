"""Operations: liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from cloudmall.domain.errors import NotFound
from cloudmall.services.commands import CheckTiers
from cloudmall.web.deps import ShopDep

router = APIRouter(tags=["operations"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process is up (it does not look at the tiers: a database outage must not restart it)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready: a required tier is down"}})
async def readyz(shop: ShopDep) -> JSONResponse:
    """Ready to serve: database reachable and migrated, object store usable; cache optional."""
    tiers = await shop.handle(CheckTiers())
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
async def metrics(shop: ShopDep) -> Response:
    """Prometheus text format; across all worker processes when PROMETHEUS_MULTIPROC_DIR is set.
    A function's metrics go to CloudWatch instead: 404 there."""
    exposition = shop.metrics.exposition()
    if exposition is None:
        raise NotFound("This runtime sends its metrics to CloudWatch")
    body, content_type = exposition
    return Response(body, media_type=content_type)
