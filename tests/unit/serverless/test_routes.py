"""The three functions' route sets cover the whole API, each route once, and API Gateway can
route them."""

from __future__ import annotations

from pathlib import Path

from cloudmall.config import Settings
from cloudmall.serverless.routes import FUNCTIONS, ROUTERS, api_gateway_path
from cloudmall.web.app import create_app
from cloudmall.web.only_routes import OnlyRoutes

# Served by no function: health and metrics answer the local runtime and the load balancer of
# the other patterns; API Gateway has no route to them.
NOT_BEHIND_API_GATEWAY = {("GET", "/livez"), ("GET", "/readyz"), ("GET", "/metrics")}


def app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path) of every operation the app's OpenAPI schema declares."""
    app = create_app(Settings(environment="test", var_dir=tmp_path, secret_key="k" * 64))
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_every_api_route_belongs_to_exactly_one_function(tmp_path: Path) -> None:
    sets = list(FUNCTIONS.values())
    union = set().union(*sets)
    assert sum(len(s) for s in sets) == len(union)  # no route in two functions
    as_in_schema = {(method, path.replace(":path}", "}")) for method, path in union}
    assert as_in_schema == app_routes(tmp_path) - NOT_BEHIND_API_GATEWAY


def test_the_functions_are_the_guides_three() -> None:
    assert set(FUNCTIONS) == {"accounts", "catalogue", "orders"}
    assert ("POST", "/api/auth/login") in FUNCTIONS["accounts"]
    assert ("GET", "/api/products") in FUNCTIONS["catalogue"]
    assert ("POST", "/api/orders/{order_id}/pay") in FUNCTIONS["orders"]


def test_api_gateway_paths() -> None:
    assert api_gateway_path("/media/{key:path}") == "/media/{key+}"
    assert api_gateway_path("/api/orders/{order_id}/pay") == "/api/orders/{order_id}/pay"


def test_only_routes_matches_method_and_whole_path() -> None:
    guard = OnlyRoutes(app=None, routes=FUNCTIONS["catalogue"])  # type: ignore[arg-type]
    assert guard.answers("GET", "/api/products/12")
    assert guard.answers("GET", "/media/ab/cd.png")
    assert not guard.answers("POST", "/api/products")
    assert not guard.answers("GET", "/api/products/12/image")
    assert not guard.answers("GET", "/api/orders")


def test_each_functions_routers_hold_all_its_routes(tmp_path: Path) -> None:
    """A function's app includes only its routers (serverless.routes.ROUTERS): none of its
    routes may be left without one."""
    settings = Settings(environment="test", var_dir=tmp_path, secret_key="k" * 64)
    for name, routes in FUNCTIONS.items():
        app = create_app(settings, routers=ROUTERS[name])
        declared = {
            (method.upper(), path)
            for path, operations in app.openapi()["paths"].items()
            for method in operations
        }
        as_in_schema = {(method, path.replace(":path}", "}")) for method, path in routes}
        assert as_in_schema <= declared, (name, as_in_schema - declared)
