"""Group commit for orders: the orders that arrive while one transaction runs share the next."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from cloudmall.domain.delivery import Address
from cloudmall.domain.errors import CloudmallError, DependencyUnavailable
from cloudmall.domain.orders import Order
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.orders import (
    OrderLimits,
    OrderRequest,
    PlacedOrder,
    announce_placed,
    count_refusal,
    earlier_answers,
    order_request,
    place_order,
    record_orders,
)
from cloudmall.services.ports import (
    NO_TRACER,
    DatabaseUnavailable,
    Metrics,
    Principal,
    RetryableConflict,
    Tracer,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

#: Orders per transaction at most; more wait for the next one.
MAX_GROUP = 64


class _PlaceAlone:
    """The group could not settle this order: place it in a transaction of its own."""


PLACE_ALONE: Final = _PlaceAlone()
_Answer = PlacedOrder | _PlaceAlone


@dataclass(frozen=True, slots=True)
class _Waiting:
    request: OrderRequest
    answer: asyncio.Future[_Answer]
    span: object  # the request's span, for the group's span to link to


class OrderDesk:
    """Places orders; the ones that arrive together are recorded in one transaction.

    When no transaction is running an order starts one at once, alone. While one runs, new
    orders wait, and the next transaction takes all of them (up to MAX_GROUP): one commit, one
    lock of the products, one INSERT of orders and one of lines for the group instead of one
    each. Every order is still checked on its own, in arrival order, against the locked stock:
    a refused order takes nothing and does not touch the others. A retry (an Idempotency-Key
    used before) gets its first answer. If the database refuses the group's transaction as a
    whole (a deadlock, a key taken meanwhile), each of its orders is placed alone, with
    `place_order`'s retries.

    A group's span (its SQL statements are that span's children) belongs to the trace of the
    group's first request and links the others' spans.
    """

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        cache: CatalogCache,
        metrics: Metrics,
        limits: OrderLimits,
        max_group: int = MAX_GROUP,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self._uow = uow
        self._tracer = tracer
        self._cache = cache
        self._metrics = metrics
        self._limits = limits
        self._max_group = max_group
        self._waiting: deque[_Waiting] = deque()
        self._runner: asyncio.Task[None] | None = None

    async def place(
        self,
        *,
        principal: Principal,
        items: Sequence[tuple[int, int]],
        client_total: Decimal | None,
        idempotency_key: str | None,
        address: Address | None = None,
    ) -> PlacedOrder:
        request = order_request(
            principal=principal,
            items=items,
            client_total=client_total,
            idempotency_key=idempotency_key,
            limits=self._limits,
            address=address,
        )
        waiting = _Waiting(
            request, asyncio.get_running_loop().create_future(), self._tracer.current()
        )
        self._waiting.append(waiting)
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        answer = await waiting.answer
        if isinstance(answer, _PlaceAlone):
            return await place_order(
                uow=self._uow,
                cache=self._cache,
                metrics=self._metrics,
                request=request,
                limits=self._limits,
            )
        return answer

    async def aclose(self) -> None:
        """Let the transaction under way finish (its orders' requests are waiting for it)."""
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        try:
            while self._waiting:
                if group := self._next_group():
                    with self._tracer.span(
                        "order group",
                        attributes={"cloudmall.order_group.size": len(group)},
                        parent=group[0].span,
                        links=[waiting.span for waiting in group[1:]],
                    ):
                        await self._settle(group)
        finally:
            self._runner = None
            while self._waiting:  # only if cut off (shutdown): never leave a request hanging
                _fail(self._waiting.popleft(), DependencyUnavailable("The shop is stopping"))

    def _next_group(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        while self._waiting and len(group) < self._max_group:
            waiting = self._waiting.popleft()
            if not waiting.answer.done():  # a request cancelled while waiting is not placed
                group.append(waiting)
        return group

    async def _settle(self, group: list[_Waiting]) -> None:
        """Record the group's orders in one transaction and answer each of them."""
        try:
            async with self._uow(write=True) as tx:
                requests = [waiting.request for waiting in group]
                # Retries first: their first answers, so that a used key never reaches (and
                # sinks) the group's INSERT.
                answered = await earlier_answers(tx, requests)
                fresh = [index for index in range(len(group)) if index not in answered]
                recorded = await record_orders(
                    tx, [requests[index] for index in fresh], limits=self._limits
                )
                await tx.commit()
        except DatabaseUnavailable as exc:
            self._metrics.order_group(len(group), "unavailable")
            # The orders that came in meanwhile have waited too: they get the answer now rather
            # than another deadline's worth of waiting.
            group.extend(self._waiting)
            self._waiting.clear()
            for waiting in group:
                _fail(waiting, DatabaseUnavailable(str(exc)))
            return
        except Exception as exc:  # each order alone meets (and reports) what the group met
            # (the class only: a database error's text holds the statement's parameters)
            level = logging.INFO if isinstance(exc, RetryableConflict) else logging.WARNING
            log.log(level, "a group of %d orders went back (%s)", len(group), type(exc).__name__)
            self._metrics.order_group(len(group), "placed_alone")
            for waiting in group:
                _answer(waiting, PLACE_ALONE)
            return
        except BaseException:  # cut off mid-transaction (the shop is stopping)
            for waiting in group:
                _fail(waiting, DependencyUnavailable("The order could not be completed"))
            raise
        self._metrics.order_group(len(group), "committed")
        placed = [outcome for outcome in recorded.outcomes if isinstance(outcome, Order)]
        try:
            await announce_placed(self._cache, self._metrics, placed, recorded.stock_left)
        finally:
            fresh_outcomes = dict(zip(fresh, recorded.outcomes, strict=True))
            self._answer_each(group, {**answered, **fresh_outcomes})

    def _answer_each(
        self, group: list[_Waiting], outcomes: dict[int, PlacedOrder | Order | CloudmallError]
    ) -> None:
        """Each waiting request its outcome, by its index in the group."""
        for index, waiting in enumerate(group):
            outcome = outcomes[index]
            if isinstance(outcome, PlacedOrder):
                _answer(waiting, outcome)
            elif isinstance(outcome, Order):
                _answer(waiting, PlacedOrder(outcome, replayed=False))
            else:
                count_refusal(self._metrics, outcome)
                _fail(waiting, outcome)


def _answer(waiting: _Waiting, answer: _Answer) -> None:
    if not waiting.answer.done():
        waiting.answer.set_result(answer)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.answer.done():
        waiting.answer.set_exception(error)
