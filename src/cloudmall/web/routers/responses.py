"""Catalogue answers: cached bodies (ready bytes) with ETag and 304, and product rows."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from cloudmall.domain.products import Product
from cloudmall.services.catalog_cache import CachedBody
from cloudmall.web.presentation import JsonCatalogPresenter

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


def product_out(request: Request, product: Product) -> dict[str, Any]:
    """A product in the guide's row shape, with this app's media links."""
    presenter: JsonCatalogPresenter = request.app.state.presenter
    return presenter.row(product)
