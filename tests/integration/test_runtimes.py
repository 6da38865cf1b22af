"""The app built under each runtime profile (CLOUDMALL_RUNTIME): which adapters bootstrap wired,
and that the shop works with them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloudmall.adapters.lake.absent import NoLakeEngine
from cloudmall.adapters.lake.on_demand import LakeQueriesOnDemand
from cloudmall.adapters.metrics import PrometheusMetrics
from cloudmall.adapters.metrics_emf import CloudWatchMetrics
from cloudmall.bootstrap import PROFILES, migrate
from cloudmall.config import Runtime, Settings
from cloudmall.domain.users import Role
from cloudmall.services.commands import CreateProduct, LogIn, MakeAdmin, PlaceOrder
from cloudmall.services.order_desk import OrderDesk
from cloudmall.services.orders import OrderPerTransaction
from cloudmall.services.ports import Principal
from cloudmall.services.shop import Shop
from cloudmall.web.app import create_app
from cloudmall.web.fast_path import CatalogFastPath

PASSWORD = "a long enough passphrase"


def _settings(tmp_path: Path, runtime: Runtime) -> Settings:
    return Settings(
        environment="test",
        runtime=runtime,
        var_dir=tmp_path,
        secret_key="runtime-" + "0123456789abcdef" * 4,
    )


@pytest.fixture(params=list(Runtime))
def runtime(request: pytest.FixtureRequest) -> Runtime:
    return Runtime(request.param)


@pytest.fixture
def client(tmp_path: Path, runtime: Runtime) -> Iterator[TestClient]:
    settings = _settings(tmp_path, runtime)
    asyncio.run(migrate(settings))
    with TestClient(
        create_app(settings), client=("127.0.0.1", 50000)
    ) as client:  # loopback: /metrics
        yield client


def _shop(client: TestClient) -> Shop:
    shop: Shop = client.app.state.shop  # type: ignore[attr-defined]
    return shop


def test_each_runtime_wires_its_own_adapters(client: TestClient, runtime: Runtime) -> None:
    shop, profile = _shop(client), PROFILES[runtime]
    middleware = client.app.user_middleware  # type: ignore[attr-defined]
    fast_path = any(entry.cls is CatalogFastPath for entry in middleware)
    readiness = client.get("/readyz").json()["tiers"]["cache"]["detail"]
    if runtime is Runtime.FUNCTION:
        assert isinstance(shop.tiers["placer"], OrderPerTransaction)
        assert isinstance(shop.metrics, CloudWatchMetrics)
        assert not fast_path
        assert readiness == "memory, invalidations not listening"  # no background watcher
        assert client.get("/metrics").status_code == 404  # no scrape target
        # pyarrow and DuckDB are not in a function's package: no lake engine is wired
        assert isinstance(shop.tiers["lake_queries"], NoLakeEngine)
    else:
        assert isinstance(shop.tiers["placer"], OrderDesk)
        assert isinstance(shop.metrics, PrometheusMetrics)
        assert fast_path
        assert client.get("/metrics").status_code == 200
        assert isinstance(shop.tiers["lake_queries"], LakeQueriesOnDemand)
    assert profile.group_commit == isinstance(shop.tiers["placer"], OrderDesk)


def test_an_order_goes_through_under_each_runtime(
    client: TestClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    shop, portal = _shop(client), client.portal
    assert portal is not None  # the app's event loop, where the shop lives
    product = portal.call(shop.handle, CreateProduct("Mug", Decimal("1000.00"), stock_quantity=3))
    portal.call(shop.handle, MakeAdmin("buyer@example.com", PASSWORD, "Buyer"))
    session = portal.call(shop.handle, LogIn("buyer@example.com", PASSWORD, "test"))
    buyer = Principal(session.user.id, Role.ADMIN)
    placed = portal.call(shop.handle, PlaceOrder(buyer, [(product.id, 2)]))
    assert placed.order.subtotal == Decimal("2000.00")
    assert placed.order.total_amount == Decimal("5000.00")  # and the default delivery fee
    assert client.get(f"/api/products/{product.id}").json()["stock_quantity"] == 1
    printed = capsys.readouterr().out
    emf = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    metric_names = {
        metric["Name"]
        for line in emf
        for directive in line["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    if runtime is Runtime.FUNCTION:  # every request's metrics as an EMF line on stdout
        assert {"RequestLatency", "OrdersPlaced", "CatalogCacheMisses"} <= metric_names
    else:
        assert emf == []
