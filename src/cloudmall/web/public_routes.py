"""Every public route, once: the service that owns it in the services topology and the Lambda
function that serves it in the serverless variant (docs/microservices.md, docs/serverless.md).

Pure data. The services' apps, the gateway's nginx config and the EKS load balancer's rules read
the owners through web.service_routes; the functions' apps and API Gateway read the functions
through serverless.routes. A route is (method, FastAPI path template). Routes in no row —
health, metrics, the API docs, `/internal/v1/...` — are every service's own and no function's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from cloudmall.config import ServiceName

Route = tuple[str, str]

# The guide's three functions: log-in, data reads, and the writers (orders and payments, and the
# staff's catalogue writes and fulfilment).
ACCOUNTS = "accounts"
CATALOGUE = "catalogue"
WRITERS = "orders"


class Placement(NamedTuple):
    service: ServiceName
    function: str


_USERS = ServiceName.USERS
_PRODUCTS = ServiceName.PRODUCTS
_ORDERS = ServiceName.ORDERS
_PAYMENTS = ServiceName.PAYMENTS

#: route → who answers it.
ROUTES: Mapping[Route, Placement] = MappingProxyType(
    {
        ("POST", "/api/auth/signup"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/auth/login"): Placement(_USERS, ACCOUNTS),
        ("GET", "/api/auth/me"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/auth/password"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/auth/refresh"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/auth/logout"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/auth/password-reset"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/auth/password-reset/confirm"): Placement(_USERS, ACCOUNTS),
        ("GET", "/api/account/profile"): Placement(_USERS, ACCOUNTS),
        ("PATCH", "/api/account/profile"): Placement(_USERS, ACCOUNTS),
        ("GET", "/api/account/addresses"): Placement(_USERS, ACCOUNTS),
        ("POST", "/api/account/addresses"): Placement(_USERS, ACCOUNTS),
        ("DELETE", "/api/account/addresses/{address_id}"): Placement(_USERS, ACCOUNTS),
        ("PUT", "/api/account/addresses/{address_id}/default"): Placement(_USERS, ACCOUNTS),
        ("PUT", "/api/admin/users/{user_id}/role"): Placement(_USERS, WRITERS),
        ("GET", "/.well-known/jwks.json"): Placement(_USERS, ACCOUNTS),
        ("GET", "/api/products"): Placement(_PRODUCTS, CATALOGUE),
        ("GET", "/api/products/{product_id}"): Placement(_PRODUCTS, CATALOGUE),
        ("POST", "/api/products"): Placement(_PRODUCTS, WRITERS),
        ("PATCH", "/api/products/{product_id}"): Placement(_PRODUCTS, WRITERS),
        ("DELETE", "/api/products/{product_id}"): Placement(_PRODUCTS, WRITERS),
        ("PUT", "/api/products/{product_id}/image"): Placement(_PRODUCTS, WRITERS),
        ("GET", "/api/categories"): Placement(_PRODUCTS, CATALOGUE),
        ("POST", "/api/admin/categories"): Placement(_PRODUCTS, WRITERS),
        ("PUT", "/api/admin/categories/{category_id}"): Placement(_PRODUCTS, WRITERS),
        ("DELETE", "/api/admin/categories/{category_id}"): Placement(_PRODUCTS, WRITERS),
        ("GET", "/api/shop/info"): Placement(_PRODUCTS, CATALOGUE),
        ("GET", "/media/{key:path}"): Placement(_PRODUCTS, CATALOGUE),
        ("POST", "/api/orders"): Placement(_ORDERS, WRITERS),
        ("GET", "/api/orders"): Placement(_ORDERS, WRITERS),
        ("GET", "/api/orders/{order_id}"): Placement(_ORDERS, WRITERS),
        ("POST", "/api/orders/{order_id}/cancel"): Placement(_ORDERS, WRITERS),
        ("PUT", "/api/orders/{order_id}/address"): Placement(_ORDERS, WRITERS),
        ("POST", "/api/delivery/quote"): Placement(_ORDERS, WRITERS),
        ("GET", "/api/delivery/carriers"): Placement(_ORDERS, WRITERS),
        ("GET", "/api/admin/orders"): Placement(_ORDERS, WRITERS),
        ("POST", "/api/admin/orders/{order_id}/ship"): Placement(_ORDERS, WRITERS),
        ("POST", "/api/admin/orders/{order_id}/deliver"): Placement(_ORDERS, WRITERS),
        ("POST", "/api/admin/orders/{order_id}/refund"): Placement(_ORDERS, WRITERS),
        ("GET", "/api/admin/overview"): Placement(_ORDERS, WRITERS),
        ("POST", "/api/orders/{order_id}/pay"): Placement(_PAYMENTS, WRITERS),
        ("GET", "/api/orders/{order_id}/payments"): Placement(_PAYMENTS, WRITERS),
    }
)


def of_service(service: ServiceName) -> frozenset[Route]:
    return frozenset(route for route, placed in ROUTES.items() if placed.service is service)


def of_function(function: str) -> frozenset[Route]:
    return frozenset(route for route, placed in ROUTES.items() if placed.function == function)
