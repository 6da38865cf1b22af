"""Answers built from ready bytes: cached catalogue bodies with ETag and 304."""

from __future__ import annotations

from fastapi import Request, Response

from cloudmall.services.catalog_cache import CachedBody

CATALOG_CACHE_CONTROL = "public, max-age=0, must-revalidate"
SERVED_KEY = "cloudmall.cached_key"  # scope entry: which cached answer a request was given


def cached_headers(cached: CachedBody) -> dict[str, str]:
    headers = {"ETag": cached.etag, "Cache-Control": CATALOG_CACHE_CONTROL}
    if cached.key.startswith("list:"):
        headers["X-Total-Count"] = str(cached.total)
    return headers


def not_modified(cached: CachedBody, if_none_match: str) -> bool:
    return bool(if_none_match) and cached.etag in if_none_match


def cached_json(request: Request, cached: CachedBody) -> Response:
    request.scope[SERVED_KEY] = cached.key
    headers = cached_headers(cached)
    if not_modified(cached, request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(content=cached.body, media_type="application/json", headers=headers)
