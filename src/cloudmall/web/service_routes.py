"""Which service answers which public route in the services topology (docs/microservices.md).

Pure data, the one table both sides read: each service's app keeps its own routes (and drops
the others' that its router modules also hold), and the gateway's nginx config
(`cloudmall gateway config`) sends each route to its service. A route is (method, FastAPI path
template), as in serverless.routes. Routes in no service's table — health, metrics, the API
docs, `/internal/v1/...` — are every service's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cloudmall.config import ServiceName

Route = tuple[str, str]

USERS: frozenset[Route] = frozenset(
    {
        ("POST", "/api/auth/signup"),
        ("POST", "/api/auth/login"),
        ("GET", "/api/auth/me"),
        ("POST", "/api/auth/password"),
        ("POST", "/api/auth/refresh"),
        ("POST", "/api/auth/logout"),
        ("POST", "/api/auth/password-reset"),
        ("POST", "/api/auth/password-reset/confirm"),
        ("GET", "/api/account/profile"),
        ("PATCH", "/api/account/profile"),
        ("GET", "/api/account/addresses"),
        ("POST", "/api/account/addresses"),
        ("DELETE", "/api/account/addresses/{address_id}"),
        ("PUT", "/api/account/addresses/{address_id}/default"),
        ("PUT", "/api/admin/users/{user_id}/role"),
        ("GET", "/.well-known/jwks.json"),
    }
)
PRODUCTS: frozenset[Route] = frozenset(
    {
        ("GET", "/api/products"),
        ("GET", "/api/products/{product_id}"),
        ("POST", "/api/products"),
        ("PATCH", "/api/products/{product_id}"),
        ("DELETE", "/api/products/{product_id}"),
        ("PUT", "/api/products/{product_id}/image"),
        ("GET", "/api/categories"),
        ("POST", "/api/admin/categories"),
        ("PUT", "/api/admin/categories/{category_id}"),
        ("DELETE", "/api/admin/categories/{category_id}"),
        ("GET", "/api/shop/info"),
        ("GET", "/media/{key:path}"),
    }
)
ORDERS: frozenset[Route] = frozenset(
    {
        ("POST", "/api/orders"),
        ("GET", "/api/orders"),
        ("GET", "/api/orders/{order_id}"),
        ("POST", "/api/orders/{order_id}/cancel"),
        ("PUT", "/api/orders/{order_id}/address"),
        ("POST", "/api/delivery/quote"),
        ("GET", "/api/delivery/carriers"),
        ("GET", "/api/admin/orders"),
        ("POST", "/api/admin/orders/{order_id}/ship"),
        ("POST", "/api/admin/orders/{order_id}/deliver"),
        ("POST", "/api/admin/orders/{order_id}/refund"),
        ("GET", "/api/admin/overview"),
    }
)
PAYMENTS: frozenset[Route] = frozenset(
    {
        ("POST", "/api/orders/{order_id}/pay"),
        ("GET", "/api/orders/{order_id}/payments"),
    }
)

#: service → the public routes it answers.
OWNERSHIP: Mapping[ServiceName, frozenset[Route]] = MappingProxyType(
    {
        ServiceName.USERS: USERS,
        ServiceName.PRODUCTS: PRODUCTS,
        ServiceName.ORDERS: ORDERS,
        ServiceName.PAYMENTS: PAYMENTS,
    }
)
#: Every public route some service answers.
PUBLIC: frozenset[Route] = frozenset().union(*OWNERSHIP.values())

#: service → the modules of cloudmall.web.routers holding its routes, and its internal routes
#: (the ports it answers for the others). `ops` (health, metrics) is every service's.
ROUTERS: Mapping[ServiceName, tuple[str, ...]] = MappingProxyType(
    {
        ServiceName.USERS: (
            "accounts",
            "credentials",
            "profile",
            "addresses",
            "token_keys",
            "ops",
            "internal_addresses",
        ),
        ServiceName.PRODUCTS: (
            "catalog",
            "categories",
            "shop_info",
            "media",
            "ops",
            "internal_stock",
            "internal_catalog",
        ),
        ServiceName.ORDERS: ("orders", "delivery", "admin", "ops", "internal_orders"),
        ServiceName.PAYMENTS: ("orders", "ops", "internal_payments"),
    }
)

#: The service that also serves the storefront's files (index.html, js, css): the products
#: service, because a storefront without the catalogue shows nothing anyway — tying the files
#: to it adds no way to fail, where tying them to users would hide a browsable shop whenever
#: the users service is down.
STOREFRONT = ServiceName.PRODUCTS


def owner(method: str, template: str) -> ServiceName | None:
    """The service answering a public route; None for a route that is every service's own."""
    for service, routes in OWNERSHIP.items():
        if (method, template) in routes:
            return service
    return None
