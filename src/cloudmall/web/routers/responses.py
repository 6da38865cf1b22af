"""Answers built from ready bytes: cached catalogue bodies with ETag and 304."""

from __future__ import annotations

from fastapi import Request, Response

from cloudmall.services.catalog_cache import CachedBody

CATALOG_CACHE_CONTROL = "public, max-age=0, must-revalidate"


def cached_json(request: Request, cached: CachedBody, *, total: bool = False) -> Response:
    headers = {"ETag": cached.etag, "Cache-Control": CATALOG_CACHE_CONTROL}
    if total:
        headers["X-Total-Count"] = str(cached.total)
    if cached.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=cached.body, media_type="application/json", headers=headers)
