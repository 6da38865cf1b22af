"""Which service answers which public route in the services topology (docs/microservices.md).

Pure data, read from the one route table (web.public_routes): each service's app keeps its own
routes (and drops the others' that its router modules also hold), the gateway's nginx config
(`cloudmall gateway config`) sends each route to its service, and the EKS load balancer's rules
are derived from it (infra/cloudmall_infra/k8s/alb_paths.py). Routes in no service's table —
health, metrics, the API docs, `/internal/v1/...` — are every service's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cloudmall.config import ServiceName
from cloudmall.web.public_routes import Route, of_service

USERS = of_service(ServiceName.USERS)
PRODUCTS = of_service(ServiceName.PRODUCTS)
ORDERS = of_service(ServiceName.ORDERS)
PAYMENTS = of_service(ServiceName.PAYMENTS)

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
