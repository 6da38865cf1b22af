"""The ASGI application: create_app() wires routers, middleware and error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from cloudmall import __version__
from cloudmall.bootstrap import Container, build_container
from cloudmall.config import Settings
from cloudmall.web.api_docs import install_api_docs
from cloudmall.web.errors import install_error_handlers
from cloudmall.web.fast_path import CatalogFastPath
from cloudmall.web.guards import RequestGuard
from cloudmall.web.middleware import BodyLimitMiddleware, RequestContextMiddleware
from cloudmall.web.routers import accounts, admin, catalog, credentials, media, ops, orders

STATIC_DIR = Path(__file__).parent / "static"
BODY_LIMIT_SLACK = 64 * 1024  # multipart framing around the largest accepted image


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """The shop as an ASGI app; pass a container to reuse adapters (tests, one-process tools)."""
    settings = container.settings if container else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or build_container(settings)
        app.state.container.catalog_cache.start()
        try:
            yield
        finally:
            await app.state.container.catalog_cache.stop()
            if owned:
                await app.state.container.aclose()

    app = FastAPI(
        title="cloudmall",
        version=__version__,
        description="The AWS design-patterns guide's online shopping mall: catalogue, orders, "
        "payments and operations. Authenticate with `Authorization: Bearer <token>` from "
        "`POST /api/auth/login`.",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics); FastAPI's own OpenTelemetry hooks cost per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served by install_api_docs from the app's own files, not a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    install_api_docs(app)
    for router in (
        accounts.router,
        credentials.router,
        catalog.router,
        orders.router,
        admin.router,
        ops.router,
        media.router,
    ):
        app.include_router(router)
    app.add_middleware(CatalogFastPath)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
            expose_headers=["ETag", "X-Total-Count", "X-Request-ID", "Idempotent-Replayed"],
            max_age=600,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.image_max_bytes + BODY_LIMIT_SLACK)
    app.add_middleware(
        RequestGuard, allowed_hosts=settings.allowed_hosts, metrics_allow=settings.metrics_allow
    )
    app.add_middleware(RequestContextMiddleware)
    # The storefront's files only answer paths no API route claims: an undeclared method on an API
    # path gets that path's 405, not the file server's.
    app.frontend("/", directory=STATIC_DIR, fallback=None)
    return app
