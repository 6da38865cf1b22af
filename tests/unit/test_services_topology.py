"""The services topology's settings, route ownership and gateway config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.routing import Match

from cloudmall.bootstrap import RemoteDesks, build_remote_desks, build_shop
from cloudmall.cli.gateway import render, route_pattern
from cloudmall.config import SERVICE_PEERS, ServiceName, Settings
from cloudmall.serverless import routes as function_routes
from cloudmall.services.outbox_readers import BackgroundLoop
from cloudmall.services.payment_reconciler import PaymentReconciler
from cloudmall.web import service_routes
from cloudmall.web.app import create_app

URLS = {
    "CLOUDMALL_USERS_URL": "http://127.0.0.1:8101",
    "CLOUDMALL_PRODUCTS_URL": "http://127.0.0.1:8102",
    "CLOUDMALL_ORDERS_URL": "http://127.0.0.1:8103",
    "CLOUDMALL_PAYMENTS_URL": "http://127.0.0.1:8104",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("CLOUDMALL_VAR_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize(
    ("service", "missing"),
    [
        ("orders", "CLOUDMALL_USERS_URL"),
        ("orders", "CLOUDMALL_PRODUCTS_URL"),
        ("orders", "CLOUDMALL_PAYMENTS_URL"),
        ("payments", "CLOUDMALL_ORDERS_URL"),
    ],
)
def test_a_service_without_a_peer_url_names_the_setting(
    env: pytest.MonkeyPatch, service: str, missing: str
) -> None:
    for name, url in URLS.items():
        if name != missing:
            env.setenv(name, url)
    env.setenv("CLOUDMALL_SERVICE", service)
    with pytest.raises(ValidationError, match=missing):
        Settings()


def test_users_and_products_call_no_one(env: pytest.MonkeyPatch) -> None:
    for service in ("users", "products"):
        env.setenv("CLOUDMALL_SERVICE", service)
        assert Settings().service is ServiceName(service)


def test_the_internal_secret_is_required_in_production_and_long(env: pytest.MonkeyPatch) -> None:
    env.setenv("CLOUDMALL_SERVICE", "products")
    local = Settings().internal_secret.get_secret_value()
    assert len(local) >= 32 and Settings().internal_secret.get_secret_value() == local  # kept
    env.setenv("CLOUDMALL_INTERNAL_SECRET", "short")
    with pytest.raises(ValidationError, match="CLOUDMALL_INTERNAL_SECRET must be at least 32"):
        Settings()
    env.delenv("CLOUDMALL_INTERNAL_SECRET")
    env.setenv("CLOUDMALL_ENVIRONMENT", "production")
    env.setenv("CLOUDMALL_SECRET_KEY", "x" * 64)
    env.setenv("CLOUDMALL_TOKEN_VERIFY_KEYS", "")
    env.setenv("CLOUDMALL_TOKEN_ALGORITHM", "HS256")
    with pytest.raises(ValidationError, match="CLOUDMALL_INTERNAL_SECRET must be set"):
        Settings()


def test_the_monolith_needs_none_of_it(env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.service is None
    assert settings.internal_secret.get_secret_value() == ""


def concrete(template: str) -> str:
    """A path the template matches: each parameter a number (a media key, two segments)."""
    return re.sub(r"\{\w+:path\}", "ab/cd.webp", re.sub(r"\{\w+\}", "7", template))


def answers(app: FastAPI, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def test_every_public_route_has_exactly_one_service(tmp_path: Path) -> None:
    """The monolith's whole API is split without overlap: the same routes the function route
    sets list, each in one service's table, each answered by the monolith."""
    owned = [route for routes in service_routes.OWNERSHIP.values() for route in routes]
    assert len(owned) == len(set(owned))
    assert set(owned) == set().union(*function_routes.FUNCTIONS.values())
    monolith = create_app(Settings(var_dir=tmp_path))
    assert all(answers(monolith, method, concrete(path)) for method, path in owned)


@pytest.mark.parametrize("service", list(ServiceName))
def test_each_service_app_answers_its_own_routes_only(
    env: pytest.MonkeyPatch, service: ServiceName
) -> None:
    for name, url in URLS.items():
        env.setenv(name, url)
    env.setenv("CLOUDMALL_SERVICE", service.value)
    app = create_app(Settings())
    answered = {
        (method, path)
        for method, path in service_routes.PUBLIC
        if answers(app, method, concrete(path))
    }
    assert answered == service_routes.OWNERSHIP[service]
    assert answers(app, "GET", "/livez") and answers(app, "GET", "/readyz")
    internal = {
        ServiceName.USERS: ("POST", "/internal/v1/addresses/1/saved"),
        ServiceName.PRODUCTS: ("POST", "/internal/v1/stock/reservations/r-1/confirm"),
        ServiceName.ORDERS: ("POST", "/internal/v1/orders/7/mark-paid"),
        ServiceName.PAYMENTS: ("POST", "/internal/v1/payments/orders/7/refund"),
    }
    for owner, (method, path) in internal.items():
        assert answers(app, method, path) == (owner is service)


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("POST", "/api/orders/12/pay", "payments"),
        ("GET", "/api/orders/12/payments", "payments"),
        ("POST", "/api/orders/12/cancel", "orders"),
        ("GET", "/api/orders", "orders"),
        ("GET", "/api/products/3", "products"),
        ("PATCH", "/api/products/3", "products"),
        ("GET", "/media/ab/cd.webp", "products"),
        ("POST", "/api/auth/login", "users"),
        ("PUT", "/api/admin/users/4/role", "users"),
    ],
)
def test_the_gateway_patterns_send_each_path_to_its_owner(
    method: str, path: str, service: str
) -> None:
    matching = {
        owner.value
        for owner, routes in service_routes.OWNERSHIP.items()
        for m, template in routes
        if re.match(route_pattern(m, template), f"{method} {path}")
    }
    assert matching == {service}


def test_the_gateway_config_names_every_service_and_hides_internal_routes(tmp_path: Path) -> None:
    upstreams = {service: f"127.0.0.1:{8101 + i}" for i, service in enumerate(ServiceName)}
    text = render(upstreams, listen="127.0.0.1:8000", prefix=tmp_path)
    for service, address in upstreams.items():
        assert f"upstream cloudmall_{service.value} {{\n        server {address}" in text
    assert "location ^~ /internal/" in text
    assert "add_header Retry-After 5 always;" in text
    assert f"default {service_routes.STOREFRONT.value};" in text
    with pytest.raises(ValueError, match="payments"):
        render({ServiceName.USERS: "127.0.0.1:1"}, listen="127.0.0.1:8000")


@pytest.mark.parametrize(
    ("service", "remote"),
    [
        ("users", set()),
        ("products", set()),
        ("orders", {"stock", "price_list", "address_book", "payment_desk"}),
        ("payments", {"order_book"}),
    ],
)
def test_a_service_reaches_its_peers_ports_over_http(
    env: pytest.MonkeyPatch, service: str, remote: set[str]
) -> None:
    for name, url in URLS.items():
        env.setenv(name, url)
    env.setenv("CLOUDMALL_SERVICE", service)
    desks = build_remote_desks(Settings())
    ports = ("stock", "price_list", "address_book", "order_book", "payment_desk")
    found = {name for name in ports if getattr(desks, name) is not None}
    assert found == remote
    assert len(desks.clients) == len(SERVICE_PEERS[ServiceName(service)])  # one per peer
    assert all(type(getattr(desks, name)).__name__.startswith("Http") for name in remote)


def test_the_monolith_reaches_nothing_over_http(env: pytest.MonkeyPatch) -> None:
    assert build_remote_desks(Settings()) == RemoteDesks()


@pytest.mark.anyio
@pytest.mark.parametrize("service", list(ServiceName))
async def test_the_payment_reconciler_runs_in_the_payments_service_alone(
    env: pytest.MonkeyPatch, service: ServiceName
) -> None:
    for name, url in URLS.items():
        env.setenv(name, url)
    env.setenv("CLOUDMALL_SERVICE", service.value)
    shop = build_shop(Settings())
    try:
        readers = [loop.reader for loop in shop._background if isinstance(loop, BackgroundLoop)]
        running = any(isinstance(reader, PaymentReconciler) for reader in readers)
        assert running == (service is ServiceName.PAYMENTS)
    finally:
        await shop.aclose()
