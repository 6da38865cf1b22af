"""The products context's StockDesk in the same process (the monolith, and the products service
behind its internal routes): each call is one of `services.stock`'s use cases, or a read, in a
transaction of the products context."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from cloudmall.domain.errors import CloudmallError
from cloudmall.domain.products import Product
from cloudmall.domain.reservations import Reservation
from cloudmall.services import stock
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.follow_loop import utc_now
from cloudmall.services.ports import ReservationRequest, UnitOfWorkFactory


class LocalStockDesk:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        cache: CatalogCache,
        reservation_minutes: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._reservation_minutes = reservation_minutes
        self._clock = clock

    async def reserve(
        self, requests: Sequence[ReservationRequest]
    ) -> list[Reservation | CloudmallError]:
        return await stock.reserve_many(
            self._uow,
            requests,
            cache=self._cache,
            reservation_minutes=self._reservation_minutes,
            now=self._clock(),
        )

    async def confirm(self, reservation_id: str) -> Reservation:
        return await stock.confirm(self._uow, reservation_id)

    async def release(self, reservation_id: str, *, reason: str) -> Reservation | None:
        return await stock.release(self._uow, reservation_id, cache=self._cache, reason=reason)

    async def low_stock(self, threshold: int) -> list[Product]:
        async with self._uow() as tx:
            return await tx.products.low_stock(threshold)
