"""Which routes each Lambda function answers: the guide's log-in, data-read and payment functions.

Pure data, read from the one route table (web.public_routes), shared by the function's app (it
keeps only its own routes: any other path is 404) and by the CDK stack (API Gateway sends each
route to its function). `api_gateway_path` turns a template into API Gateway's form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from cloudmall.web import public_routes
from cloudmall.web.public_routes import Route, of_function

ACCOUNTS = of_function(public_routes.ACCOUNTS)
CATALOGUE = of_function(public_routes.CATALOGUE)
ORDERS = of_function(public_routes.WRITERS)

#: function name → its routes. "all" (every route, the docs and the health checks) is the local
#: function runtime's single function, `cloudmall serve --runtime function`.
FUNCTIONS: Mapping[str, frozenset[Route]] = MappingProxyType(
    {
        public_routes.ACCOUNTS: ACCOUNTS,
        public_routes.CATALOGUE: CATALOGUE,
        public_routes.WRITERS: ORDERS,
    }
)
ALL = "all"
#: function name → the modules of cloudmall.web.routers that hold its routes: its app includes
#: these alone (building the others' routes would only lengthen its cold start).
ROUTERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        public_routes.ACCOUNTS: ("accounts", "credentials", "profile", "addresses", "token_keys"),
        public_routes.CATALOGUE: ("catalog", "shop_info", "media"),
        public_routes.WRITERS: (
            "credentials",
            "catalog",
            "categories",
            "orders",
            "delivery",
            "admin",
        ),
    }
)

_PATH_PARAMETER = re.compile(r"\{(\w+):path\}")


def api_gateway_path(template: str) -> str:
    """`/media/{key:path}` → `/media/{key+}` (a greedy parameter); others stay as they are."""
    return _PATH_PARAMETER.sub(r"{\1+}", template)
