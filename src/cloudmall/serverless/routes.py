"""Which routes each Lambda function answers: the guide's log-in, data-read and payment functions.

Pure data, shared by the function's app (it keeps only its own routes: any other path is 404)
and by the CDK stack (API Gateway sends each route to its function). A route is (method, FastAPI
path template); `api_gateway_path` turns a template into API Gateway's form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

Route = tuple[str, str]

ACCOUNTS: frozenset[Route] = frozenset(
    {
        ("POST", "/api/auth/signup"),
        ("POST", "/api/auth/login"),
        ("GET", "/api/auth/me"),
        ("POST", "/api/auth/password"),
        ("POST", "/api/auth/refresh"),
        ("POST", "/api/auth/logout"),
        ("GET", "/api/account/profile"),
        ("PATCH", "/api/account/profile"),
        ("POST", "/api/auth/password-reset"),
        ("POST", "/api/auth/password-reset/confirm"),
        ("GET", "/api/account/addresses"),
        ("POST", "/api/account/addresses"),
        ("DELETE", "/api/account/addresses/{address_id}"),
        ("PUT", "/api/account/addresses/{address_id}/default"),
        ("GET", "/.well-known/jwks.json"),
    }
)
CATALOGUE: frozenset[Route] = frozenset(
    {
        ("GET", "/api/products"),
        ("GET", "/api/products/{product_id}"),
        ("GET", "/api/categories"),
        ("GET", "/api/shop/info"),
        ("GET", "/media/{key:path}"),
    }
)
# Orders and payments, and the staff's routes (catalogue writes, fulfilment): the writers.
ORDERS: frozenset[Route] = frozenset(
    {
        ("POST", "/api/orders"),
        ("GET", "/api/orders"),
        ("GET", "/api/orders/{order_id}"),
        ("POST", "/api/orders/{order_id}/pay"),
        ("POST", "/api/orders/{order_id}/cancel"),
        ("PUT", "/api/orders/{order_id}/address"),
        ("GET", "/api/orders/{order_id}/payments"),
        ("POST", "/api/delivery/quote"),
        ("GET", "/api/delivery/carriers"),
        ("GET", "/api/admin/orders"),
        ("POST", "/api/admin/orders/{order_id}/ship"),
        ("POST", "/api/admin/orders/{order_id}/deliver"),
        ("POST", "/api/admin/orders/{order_id}/refund"),
        ("GET", "/api/admin/overview"),
        ("PUT", "/api/admin/users/{user_id}/role"),
        ("POST", "/api/products"),
        ("PATCH", "/api/products/{product_id}"),
        ("DELETE", "/api/products/{product_id}"),
        ("PUT", "/api/products/{product_id}/image"),
        ("POST", "/api/admin/categories"),
        ("PUT", "/api/admin/categories/{category_id}"),
        ("DELETE", "/api/admin/categories/{category_id}"),
    }
)

#: function name → its routes. "all" (every route, the docs and the health checks) is the local
#: function runtime's single function, `cloudmall serve --runtime function`.
FUNCTIONS: Mapping[str, frozenset[Route]] = MappingProxyType(
    {"accounts": ACCOUNTS, "catalogue": CATALOGUE, "orders": ORDERS}
)
ALL = "all"
#: function name → the modules of cloudmall.web.routers that hold its routes: its app includes
#: these alone (building the others' routes would only lengthen its cold start).
ROUTERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "accounts": ("accounts", "credentials", "profile", "addresses", "token_keys"),
        "catalogue": ("catalog", "shop_info", "media"),
        "orders": ("credentials", "catalog", "categories", "orders", "delivery", "admin"),
    }
)

_PATH_PARAMETER = re.compile(r"\{(\w+):path\}")


def api_gateway_path(template: str) -> str:
    """`/media/{key:path}` → `/media/{key+}` (a greedy parameter); others stay as they are."""
    return _PATH_PARAMETER.sub(r"{\1+}", template)
