"""The monolith's ports between contexts over the fakes: each context's use cases, in its own
(fake) transactions, as bootstrap wires them."""

from __future__ import annotations

from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_book import LocalOrderBook
from cloudmall.services.payment_desk import LocalPaymentDesk
from cloudmall.services.ports import Metrics, PaymentGateway, UnitOfWorkFactory
from cloudmall.services.stock_desk import LocalStockDesk
from tests.unit.fakes import FakeCache, FakeGateway, FakeMetrics

RESERVATION_MINUTES = 30


def stock_desk(uow: UnitOfWorkFactory, cache: CatalogCache | None = None) -> LocalStockDesk:
    cache = cache or CatalogCache(FakeCache(), ttl_seconds=300, metrics=FakeMetrics())
    return LocalStockDesk(uow, cache, RESERVATION_MINUTES)


def order_book(uow: UnitOfWorkFactory, cache: CatalogCache | None = None) -> LocalOrderBook:
    return LocalOrderBook(uow, stock_desk(uow, cache))


def payment_desk(
    uow: UnitOfWorkFactory, gateway: PaymentGateway | None = None, metrics: Metrics | None = None
) -> LocalPaymentDesk:
    return LocalPaymentDesk(uow, gateway or FakeGateway(), metrics or FakeMetrics())
