"""The ASGI application: create_app() wires routers, middleware and error handling."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware

from cloudmall import __version__
from cloudmall.bootstrap import build_shop, build_tracing, runtime_profile
from cloudmall.config import ServiceName, Settings
from cloudmall.services.media_links import MediaLinks
from cloudmall.services.shop import Shop
from cloudmall.web import service_routes
from cloudmall.web.api_docs import install_api_docs
from cloudmall.web.errors import install_error_handlers
from cloudmall.web.fast_path import CatalogFastPath
from cloudmall.web.guards import RequestGuard
from cloudmall.web.middleware import BodyLimitMiddleware, RequestContextMiddleware
from cloudmall.web.only_routes import OnlyRoutes
from cloudmall.web.order_path import OrderFastPath, order_route
from cloudmall.web.presentation import JsonCatalogPresenter

STATIC_DIR = Path(__file__).parent / "static"
BODY_LIMIT_SLACK = 64 * 1024  # multipart framing around the largest accepted image
#: The modules of cloudmall.web.routers, in the order the app includes them. A function's app
#: imports only those holding its routes (serverless.routes.ROUTERS): importing and including
#: a router builds its routes, a cost paid at every cold start.
ROUTERS = (
    "accounts",
    "credentials",
    "profile",
    "addresses",
    "catalog",
    "shop_info",
    "token_keys",
    "categories",
    "orders",
    "delivery",
    "admin",
    "ops",
    "media",
)
#: The internal routes of the services topology (web.service_routes.ROUTERS), which only a
#: service includes: the monolith's contexts call each other in process.
INTERNAL_ROUTERS = (
    "internal_stock",
    "internal_catalog",
    "internal_addresses",
    "internal_orders",
    "internal_payments",
)


def presenter_for(settings: Settings) -> JsonCatalogPresenter:
    return JsonCatalogPresenter(MediaLinks(settings.cdn_base_url))


def build_web_shop(settings: Settings) -> Shop:
    """The shop with the web layer's presentation of catalogue answers."""
    return build_shop(settings, present=presenter_for(settings))


def create_app(
    settings: Settings | None = None,
    *,
    shop: Shop | None = None,
    only_routes: Iterable[tuple[str, str]] | None = None,
    routers: Collection[str] = ROUTERS,
) -> FastAPI:
    """The shop as an ASGI app; pass a shop (built with `settings`) to reuse it (tests, tools),
    and `only_routes` ((method, path template) pairs) to answer those alone (a function's share)
    with `routers`, the names of the router modules that hold them.

    The shop is built once per process, when the app starts (a function's cold start), not per
    request.
    """
    settings = settings or Settings()
    presenter = presenter_for(settings)
    app = FastAPI(
        title="cloudmall",
        version=__version__,
        description="The AWS design-patterns guide's online shopping mall: catalogue, orders, "
        "payments and operations. Authenticate with `Authorization: Bearer <token>` from "
        "`POST /api/auth/login`.",
        lifespan=_lifespan(settings, presenter, shop),
        # FastAPI's own OpenTelemetry hooks cost per request even with no SDK: metrics are
        # Prometheus (/metrics), and traces, when on, come from adapters/tracing.py.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served by install_api_docs from the app's own files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.presenter = presenter
    install_error_handlers(app)
    install_api_docs(app)
    if settings.service is not None:
        routers = service_routes.ROUTERS[settings.service]
    for name in (*ROUTERS, *INTERNAL_ROUTERS):
        if name in routers:
            router = importlib.import_module(f"cloudmall.web.routers.{name}").router
            if settings.service is not None:
                router = _own_routes(router, settings.service)
            app.include_router(router)
    _add_middleware(app, settings, only_routes)
    if settings.service in (None, service_routes.STOREFRONT):
        # The storefront's files only answer paths no API route claims: an undeclared method on
        # an API path gets that path's 405, not the file server's.
        app.frontend("/", directory=STATIC_DIR, fallback=None)
    return app


def _own_routes(router: APIRouter, service: ServiceName) -> APIRouter:
    """The router without the public routes another service answers (a router module may hold
    routes of two contexts: `orders` holds paying, which is the payments service's). Its routes
    carry their full paths and dependencies already: the copy needs no prefix of its own."""
    own = service_routes.OWNERSHIP[service]
    kept = APIRouter()
    kept.routes.extend(
        route
        for route in router.routes
        if not isinstance(route, APIRoute)
        or all(
            (method, route.path) in own or (method, route.path) not in service_routes.PUBLIC
            for method in route.methods or ()
        )
    )
    return kept


def _lifespan(
    settings: Settings, presenter: JsonCatalogPresenter, shop: Shop | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Builds the shop (unless given one) when the app starts, and closes what it built."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.shop = shop or build_shop(settings, present=presenter)
        app.state.shop.start()
        try:
            yield
        finally:
            await app.state.shop.stop()
            if shop is None:
                await app.state.shop.aclose()
            if tracing := build_tracing(settings):
                tracing.flush()  # the last requests' spans, before the worker exits

    return lifespan


def _add_middleware(
    app: FastAPI, settings: Settings, only_routes: Iterable[tuple[str, str]] | None
) -> None:
    """Innermost first: the lean `POST /api/orders` (if the app has the route), the fast path
    (if the runtime keeps answers), the function's routes, CORS, body limit, guard, the request
    id on the server span (if tracing), context; the server span (if tracing) around all of it."""
    if (route := order_route(app)) is not None:
        app.add_middleware(OrderFastPath, route=route)
    if runtime_profile(settings).fast_path:
        app.add_middleware(CatalogFastPath)
    if only_routes is not None:
        app.add_middleware(OnlyRoutes, routes=only_routes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            # the storefront on another origin of the same site sends the refresh cookie
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
            expose_headers=["ETag", "X-Total-Count", "X-Request-ID", "Idempotent-Replayed"],
            max_age=600,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.image_max_bytes + BODY_LIMIT_SLACK)
    app.add_middleware(
        RequestGuard,
        allowed_hosts=settings.allowed_hosts,
        metrics_allow=settings.metrics_allow,
        origin_verify=settings.origin_verify_secret.get_secret_value(),
    )
    if tracing := build_tracing(settings):
        tracing.instrument_app(app)
    app.add_middleware(RequestContextMiddleware)
