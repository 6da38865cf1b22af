"""Every public route is written once (web.public_routes, with its service and its function):
the services' table and the functions' sets are read from it, not listed again."""

from __future__ import annotations

import ast
from pathlib import Path

from cloudmall.config import ServiceName
from cloudmall.serverless import routes as function_routes
from cloudmall.web import public_routes, service_routes

ROOT = Path(__file__).resolve().parents[2]
#: The modules that send routes somewhere: the services' apps and gateway, the functions' apps,
#: API Gateway and the EKS load balancer.
READERS = (
    "src/cloudmall/web/service_routes.py",
    "src/cloudmall/web/app.py",
    "src/cloudmall/cli/gateway.py",
    "src/cloudmall/serverless",
    "infra/cloudmall_infra/http_api.py",
    "infra/cloudmall_infra/functions.py",
    "infra/cloudmall_infra/k8s",
)
ROUTE_HEADS = ("/api/", "/media/", "/.well-known/")


def route_literals(path: Path) -> list[str]:
    """The route templates a module spells out."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith(ROUTE_HEADS)
    ]


def test_no_reader_lists_routes_of_its_own() -> None:
    found = {}
    for reader in READERS:
        base = ROOT / reader
        for path in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            if literals := route_literals(path):
                found[str(path.relative_to(ROOT))] = literals
    assert found == {}
    # The check sees a route: the one table spells out each.
    assert len(route_literals(ROOT / "src/cloudmall/web/public_routes.py")) == len(
        public_routes.ROUTES
    )


def test_the_services_and_the_functions_each_split_the_one_table() -> None:
    everything = set(public_routes.ROUTES)
    by_service = list(service_routes.OWNERSHIP.values())
    by_function = list(function_routes.FUNCTIONS.values())
    assert set(service_routes.OWNERSHIP) == set(ServiceName)
    for split in (by_service, by_function):
        assert sum(len(part) for part in split) == len(everything)  # no route twice
        assert set().union(*split) == everything
    placed = public_routes.ROUTES[("PUT", "/api/admin/users/{user_id}/role")]
    assert ("PUT", "/api/admin/users/{user_id}/role") in service_routes.USERS
    assert ("PUT", "/api/admin/users/{user_id}/role") in function_routes.FUNCTIONS[placed.function]
    assert placed == (ServiceName.USERS, "orders")  # a staff write: the writers' function
