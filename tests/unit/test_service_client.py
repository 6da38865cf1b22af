"""The client between services: timeouts, retries, the circuit breaker, and errors raised again
as their own class, over httpx's in-process transports (a real app, no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from cloudmall.adapters.http.breaker import BreakerState, CircuitBreaker
from cloudmall.adapters.http.client import INTERNAL_HEADER, ServiceClient
from cloudmall.domain import errors
from cloudmall.domain.error_wire import error_classes, from_wire, to_wire
from cloudmall.services import backup
from cloudmall.services.request_context import current_request_id
from cloudmall.web.errors import install_error_handlers
from cloudmall.web.routers.internal_auth import internal_router

pytestmark = pytest.mark.anyio
SECRET = "s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(_seconds: float) -> None:
    return None


def client_on(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    attempts: int = 3,
    breaker: CircuitBreaker | None = None,
) -> ServiceClient:
    return ServiceClient(
        "products",
        "http://products",
        secret=SECRET,
        attempts=attempts,
        breaker=breaker,
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
    )


@pytest.mark.parametrize("failure", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError])
async def test_a_slow_or_unreachable_service_is_dependency_unavailable(
    failure: type[httpx.TransportError],
) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise failure("no answer", request=request)

    client = client_on(handler)
    with pytest.raises(errors.DependencyUnavailable, match="products service"):
        await client.post("/internal/v1/stock/reservations", {"requests": []})
    assert len(calls) == 3  # every attempt made


async def test_the_timeouts_are_short() -> None:
    client = client_on(lambda request: httpx.Response(200, json={}))
    assert client._http.timeout.connect == 0.5
    assert client._http.timeout.read == 2.0


async def test_retries_repeat_the_same_request_with_the_same_id() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.headers[INTERNAL_HEADER] == SECRET
        if len(seen) < 3:
            return httpx.Response(503, json={"error": {"code": "database_unavailable"}})
        return httpx.Response(200, json={"ok": True})

    client = client_on(handler)
    body = {"requests": [{"id": "r-1", "quantities": [{"product_id": 1, "quantity": 2}]}]}
    assert await client.post("/internal/v1/stock/reservations", body) == {"ok": True}
    assert seen == [body, body, body]


async def test_the_callers_request_id_goes_along() -> None:
    """One order's log lines and events carry one request id in every service it touches."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return httpx.Response(200, json={})

    client = client_on(handler)
    await client.post("/internal/v1/stock/low", {"threshold": 1})  # no request under way
    token = current_request_id.set("req-42")
    try:
        await client.post("/internal/v1/stock/low", {"threshold": 1})
    finally:
        current_request_id.reset(token)
    assert seen == [None, "req-42"]


async def test_a_domain_error_is_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404, json={"error": to_wire(errors.NotFound("No such reservation"))})

    client = client_on(handler)
    with pytest.raises(errors.NotFound, match="No such reservation"):
        await client.post("/internal/v1/stock/reservations/x/confirm", {})
    assert len(calls) == 1
    assert client.breaker.state is BreakerState.CLOSED  # the service answered: not a failure


async def test_the_breaker_opens_then_lets_one_trial_through_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=2, cool_down=5.0, clock=clock)
    up = False
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if not up:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ok": True})

    client = client_on(handler, attempts=1, breaker=breaker)
    for _ in range(2):
        with pytest.raises(errors.DependencyUnavailable):
            await client.post("/x", {})
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after() == 5.0

    with pytest.raises(errors.DependencyUnavailable):  # open: fails at once
        await client.post("/x", {})
    assert len(calls) == 2

    clock.now += 5.0
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(errors.DependencyUnavailable):  # the trial fails: open again
        await client.post("/x", {})
    assert len(calls) == 3
    assert breaker.state is BreakerState.OPEN

    clock.now += 5.0
    up = True
    assert await client.post("/x", {}) == {"ok": True}
    assert breaker.state is BreakerState.CLOSED
    assert len(calls) == 4


async def test_retries_stop_once_the_breaker_opens() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    client = client_on(handler, attempts=5, breaker=CircuitBreaker(threshold=2, clock=Clock()))
    with pytest.raises(errors.DependencyUnavailable):
        await client.post("/x", {})
    assert len(calls) == 2


def test_half_open_lets_a_single_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cool_down=1.0, clock=clock)
    breaker.failed()
    assert not breaker.allow()
    clock.now += 1.0
    assert breaker.allow()
    assert not breaker.allow()  # a second caller waits for the trial's outcome
    breaker.abandoned()
    assert breaker.allow()


# --- every error, raised again as its own class -----------------------------------------------

SAMPLES: dict[type[errors.CloudmallError], Callable[[], errors.CloudmallError]] = {
    errors.InvalidInput: lambda: errors.InvalidInput("Bad price", field="price", reason="low"),
    errors.PasswordRejected: lambda: errors.PasswordRejected("Too short", reason="too_short"),
    errors.ConsentRequired: lambda: errors.ConsentRequired(["privacy", "terms"]),
    errors.OutOfStock: lambda: errors.OutOfStock(7, "Kettle", 2),
    errors.TotalMismatch: lambda: errors.TotalMismatch(Decimal("1.00"), Decimal("2.50")),
    errors.PaymentDeclined: lambda: errors.PaymentDeclined("insufficient funds"),
    errors.RateLimited: lambda: errors.RateLimited("Too many attempts", 30),
}


def sample(cls: type[errors.CloudmallError]) -> errors.CloudmallError:
    return SAMPLES[cls]() if cls in SAMPLES else cls(f"a {cls.__name__}")


def test_every_code_names_one_class() -> None:
    classes = error_classes()
    assert len(classes) >= 30
    assert classes["reservation_expired"].__name__ == "ReservationExpired"
    assert classes["backup_not_found"] is backup.BackupNotFound


def test_an_unknown_code_is_the_base_class() -> None:
    exc = from_wire({"code": "from_a_newer_service", "message": "What it said"})
    assert type(exc) is errors.CloudmallError
    assert exc.message == "What it said"


def raising_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.settings = SimpleNamespace(internal_secret=SecretStr(SECRET))
    router = internal_router("/errors", "internal")
    classes = error_classes()

    @router.post("/{code}")
    async def raise_it(code: str) -> None:
        raise sample(classes[code])

    app.include_router(router)
    return app


@pytest.mark.parametrize("cls", sorted(error_classes().values(), key=lambda c: c.code))
async def test_every_error_crosses_the_wire_as_itself(cls: type[errors.CloudmallError]) -> None:
    client = ServiceClient(
        "orders",
        "http://orders",
        secret=SECRET,
        transport=httpx.ASGITransport(app=raising_app()),
        sleep=no_sleep,
    )
    sent = sample(cls)
    if isinstance(sent, errors.DependencyUnavailable):
        with pytest.raises(errors.DependencyUnavailable, match="orders service"):
            await client.post(f"/internal/v1/errors/{cls.code}", {})
        return
    with pytest.raises(cls) as raised:
        await client.post(f"/internal/v1/errors/{cls.code}", {})
    assert type(raised.value) is cls
    assert raised.value.message == sent.message
    assert vars(raised.value) == vars(sent)


async def test_a_refused_secret_is_the_service_unavailable_not_the_customer_logged_out() -> None:
    """The services disagree on the secret (a rotation half done): nothing the customer did."""
    client = ServiceClient(
        "orders",
        "http://orders",
        secret="another secret of the right length...",
        transport=httpx.ASGITransport(app=raising_app()),
    )
    with pytest.raises(errors.DependencyUnavailable):
        await client.post("/internal/v1/errors/authentication_failed", {})
    assert client.breaker.state is BreakerState.CLOSED  # the service itself answers


async def test_an_internal_route_without_the_secret_is_401() -> None:
    transport = httpx.ASGITransport(app=raising_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
        for headers in ({}, {INTERNAL_HEADER: "s" * 31 + "t"}):
            response = await http.post("/internal/v1/errors/not_found", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "authentication_failed"
