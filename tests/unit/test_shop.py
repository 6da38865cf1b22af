"""The Shop: every command has a handler, bootstrap binds each to the tiers it names, and a
command whose tiers an entrypoint lacks is refused rather than half-run. Against fakes."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from cloudmall.adapters.cache.memory import MemoryCache
from cloudmall.adapters.security.tokens import JwtTokenIssuer, JwtTokenVerifier
from cloudmall.bootstrap import bind_handlers, inject_dependencies
from cloudmall.domain.errors import AuthenticationFailed, NotFound, PermissionDenied
from cloudmall.domain.orders import OrderStatus
from cloudmall.services import commands as c
from cloudmall.services.access import AccessCheck
from cloudmall.services.address_book import LocalAddressBook
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.consents import LegalVersions
from cloudmall.services.handlers import HANDLERS
from cloudmall.services.media_links import MediaLinks
from cloudmall.services.orders import OrderLimits, OrderPerTransaction
from cloudmall.services.ports import NO_TRACER
from cloudmall.services.price_list import LocalPriceList
from cloudmall.services.rate_limit import Limit, RateLimiter, SlowDown, Throttles
from cloudmall.services.sessions import RefreshSessions
from cloudmall.services.shop import Shop
from cloudmall.web.presentation import JsonCatalogPresenter
from tests.unit.contexts import order_book, payment_desk, stock_desk
from tests.unit.fakes import (
    HOME,
    FakeCache,
    FakeGateway,
    FakeHasher,
    FakeMetrics,
    FakeStore,
    customer,
)

pytestmark = pytest.mark.anyio


def _tiers(store: FakeStore, cache: FakeCache, metrics: FakeMetrics) -> dict[str, object]:
    catalog_cache = CatalogCache(cache, ttl_seconds=300, metrics=metrics)
    return {
        "uow": store,
        "cache": catalog_cache,
        "metrics": metrics,
        "placer": OrderPerTransaction(
            store, stock_desk(store, catalog_cache), metrics, OrderLimits()
        ),  # type: ignore[arg-type]
        "gateway": FakeGateway(),
        "stock_desk": stock_desk(store, catalog_cache),
        "price_list": LocalPriceList(store),
        "address_book": LocalAddressBook(store),
        "order_book": order_book(store, catalog_cache),
        "payment_desk": payment_desk(store, metrics=metrics),
        "tracer": NO_TRACER,
        "hasher": FakeHasher(),
        "token_issuer": JwtTokenIssuer.hs256("s" * 64, issuer="i", audience="a", ttl_seconds=60),
        "token_verifier": JwtTokenVerifier.hs256("s" * 64, issuer="i", audience="a"),
        "throttles": Throttles(
            limiter=RateLimiter(MemoryCache()),
            login_per_account_and_client=Limit("login-account-client", 10, 60),
            login_per_client=Limit("login-client", 10, 60),
            login_per_account=Limit("login-account", 10, 60),
            slow_down=SlowDown(free=10),
            signup_per_client=Limit("signup-client", 10, 60),
        ),
        "access": AccessCheck(store),
        "sessions": RefreshSessions(lifetime_seconds=3600),
        "legal": LegalVersions(privacy="p1", terms="t1"),
        "store": None,
        "images": None,
        "probes": [],
        "currency": "KRW",
        "low_stock_threshold": 5,
    }


def _shop(tiers: dict[str, object]) -> Shop:
    cache = tiers["cache"]
    assert isinstance(cache, CatalogCache)
    return Shop(
        bind_handlers(tiers),
        tiers=tiers,
        metrics=FakeMetrics(),
        catalog_cache=cache,
        watch_catalog=False,
        closers=[],
    )


def test_every_command_has_a_handler_that_takes_it_first() -> None:
    commands = {
        command
        for command in vars(c).values()
        if inspect.isclass(command) and issubclass(command, c.Command) and command is not c.Command
    }
    assert commands == set(HANDLERS)
    for command, handler in HANDLERS.items():
        first = next(iter(inspect.signature(handler).parameters.values()))
        assert first.annotation in (command.__name__, f"c.{command.__name__}"), handler


def test_binding_names_a_missing_tier() -> None:
    with pytest.raises(KeyError, match="gateway"):
        inject_dependencies(
            HANDLERS[c.PayOrder], {"uow": object(), "order_book": object(), "metrics": object()}
        )


async def test_a_customer_journey_through_commands_alone(
    store: FakeStore, cache: FakeCache, metrics: FakeMetrics
) -> None:
    tiers = _tiers(store, cache, metrics)
    tiers["present"] = JsonCatalogPresenter(MediaLinks())
    shop = _shop(tiers)
    mug = await shop.handle(c.CreateProduct("Mug", Decimal("1000.00"), stock_quantity=5))
    agreed = frozenset({"privacy", "terms"})
    session = await shop.handle(
        c.SignUp("kim@example.com", "a long passphrase", "Kim", "1.2.3.4", agreed)
    )
    me = await shop.handle(c.Authenticate(session.access_token))
    placed = await shop.handle(c.PlaceOrder(me, items=[(mug.id, 2)], address=HOME))
    paid = await shop.handle(c.PayOrder(me, placed.order.id, "4242 4242 4242 4242", "12/49", "123"))
    assert paid.order.status is OrderStatus.PAID
    assert [o.id for o in await shop.handle(c.ListMyOrders(me))] == [placed.order.id]
    page = await shop.handle(c.GetProduct(mug.id))
    assert b'"stock_quantity":3' in page.body
    with pytest.raises(PermissionDenied):  # the body's userId must be the caller's own
        await shop.handle(c.PlaceOrder(me, items=[(mug.id, 1)], claimed_user_id=me.user_id + 1))
    with pytest.raises(NotFound):  # another customer's order looks missing
        await shop.handle(c.GetOrder(customer(me.user_id + 1), placed.order.id))
    change = c.ChangePassword(me, "a long passphrase", "another long passphrase 7", "1.2.3.4")
    renewed = await shop.handle(change)
    with pytest.raises(AuthenticationFailed):  # tokens from before the change stop working
        await shop.handle(c.Authenticate(session.access_token))
    assert (await shop.handle(c.Authenticate(renewed.access_token))).user_id == me.user_id
    assert session.refresh is not None and renewed.refresh is not None
    with pytest.raises(AuthenticationFailed):  # so do the sessions started before it
        await shop.handle(c.RefreshSession(session.refresh.token))
    refreshed = await shop.handle(c.RefreshSession(renewed.refresh.token))
    assert (await shop.handle(c.Authenticate(refreshed.access_token))).user_id == me.user_id


async def test_an_entrypoint_without_a_presenter_gets_no_catalogue_reads(
    store: FakeStore, cache: FakeCache, metrics: FakeMetrics
) -> None:
    shop = _shop(_tiers(store, cache, metrics))  # the CLI's shop: it never renders the catalogue
    mug = await shop.handle(c.CreateProduct("Mug", Decimal("1000.00")))
    with pytest.raises(LookupError, match="GetProduct is not wired"):
        await shop.handle(c.GetProduct(mug.id))
    assert (await shop.handle(c.CountShop())).products == 1


async def test_an_entrypoint_with_only_a_verifier_checks_tokens_but_mints_none(
    store: FakeStore, cache: FakeCache, metrics: FakeMetrics
) -> None:
    tiers = _tiers(store, cache, metrics)
    session = await _shop(tiers).handle(
        c.SignUp(
            "kim@example.com",
            "a long passphrase",
            "Kim",
            "1.2.3.4",
            frozenset({"privacy", "terms"}),
        )
    )
    del tiers["token_issuer"]  # a service that only verifies (docs/security.md)
    verifying = _shop(tiers)
    assert (await verifying.handle(c.Authenticate(session.access_token))).user_id == session.user.id
    for minting in (
        c.LogIn("kim@example.com", "a long passphrase", "1.2.3.4"),
        c.RefreshSession("any"),
    ):
        with pytest.raises(LookupError, match="is not wired"):
            await verifying.handle(minting)
