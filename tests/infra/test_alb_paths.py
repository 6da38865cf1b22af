"""The EKS load balancer's path rules come from the services' route table
(cloudmall.web.service_routes): a route added there is routed by the ALB with no edit here."""

from __future__ import annotations

import pytest

from cloudmall.config import ServiceName
from cloudmall.web import service_routes
from cloudmall_infra.k8s import alb_paths


def test_the_rules_are_the_tables_prefixes_and_the_shared_heads_wildcards() -> None:
    rules = alb_paths.patterns()
    assert rules[:2] == (
        ("/api/orders/*/pay", "payments"),
        ("/api/orders/*/payments", "payments"),
    )
    assert ("/api/orders", "orders") in rules
    assert ("/api/auth", "users") in rules  # the auth routes as one prefix
    assert ("/.well-known/jwks.json", "users") in rules
    assert ("/media", "products") in rules
    assert len({pattern for pattern, _ in rules}) == len(rules)


def test_a_route_added_to_the_table_reaches_the_alb(monkeypatch: pytest.MonkeyPatch) -> None:
    ownership = dict(service_routes.OWNERSHIP)
    ownership[ServiceName.USERS] |= {("GET", "/api/wishlist"), ("GET", "/api/orders/{id}/gift")}
    monkeypatch.setattr(alb_paths, "OWNERSHIP", ownership)
    rules = alb_paths.patterns()
    assert ("/api/wishlist", "users") in rules
    gift = rules.index(("/api/orders/*/gift", "users"))
    assert gift < rules.index(("/api/orders", "orders"))  # evaluated before orders' prefix
