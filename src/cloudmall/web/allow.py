"""The `Allow` header of a 405: every method the application serves at the request's path.

The router answers an unknown method with the first route whose path matched, which names only its
own methods (`PATCH /api/products` would be told `GET` and not `POST`). Asking every route whether
it would take the same path with each method gives the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
STOREFRONT_METHODS = ("GET", "HEAD")  # the storefront's files: the only other source of a 405


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str:
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed or STOREFRONT_METHODS)
