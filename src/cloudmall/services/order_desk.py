"""Group commit for orders: the orders that arrive while one transaction runs share the next."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from cloudmall.domain.delivery import Address
from cloudmall.domain.errors import CloudmallError, DependencyUnavailable
from cloudmall.domain.orders import Order
from cloudmall.domain.reservations import Reservation, ReservationStatus
from cloudmall.services.orders import (
    REFUSED,
    OrderLimits,
    OrderRequest,
    PlacedOrder,
    count_refusal,
    earlier_answers,
    order_request,
    place_order,
    record_orders,
    release_reservations,
    release_unless_ordered,
    reservation_request,
)
from cloudmall.services.ports import (
    NO_TRACER,
    DatabaseUnavailable,
    Metrics,
    Principal,
    RetryableConflict,
    StockDesk,
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
    """Places orders; the ones that arrive together are placed together.

    When no group is being placed an order starts one at once, alone. While one is, new orders
    wait, and the next group takes all of them (up to MAX_GROUP): one call to reserve their
    units (one transaction of the products context), then one transaction of the orders context
    with one INSERT of orders and one of lines, instead of one each. Every order is still
    checked on its own, in arrival order: a refused one takes nothing (its units are released)
    and does not touch the others. A retry (an Idempotency-Key used before) gets its first
    answer. If the database refuses the group's transaction as a whole (a deadlock, a key taken
    meanwhile), each of its orders is placed alone, with `place_order`'s retries (under the same
    reservation: nothing is taken twice).

    A group's span (its SQL statements are that span's children) belongs to the trace of the
    group's first request and links the others' spans; each order's `order.placed` carries its
    own request's trace context (services.trace_context).
    """

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        stock: StockDesk,
        metrics: Metrics,
        limits: OrderLimits,
        max_group: int = MAX_GROUP,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self._uow = uow
        self._tracer = tracer
        self._stock = stock
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
        request = replace(
            order_request(
                principal=principal,
                items=items,
                client_total=client_total,
                idempotency_key=idempotency_key,
                limits=self._limits,
                address=address,
            ),
            traceparent=self._tracer.traceparent(),
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
                stock=self._stock,
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
        """Reserve the group's units, record its orders in one transaction, answer each."""
        requests = [waiting.request for waiting in group]
        reserved: list[Reservation | CloudmallError] = []
        try:
            reserved = await self._stock.reserve([reservation_request(r) for r in requests])
            async with self._uow(write=True) as tx:
                # Retries get their first answers, and never reach (and sink) the INSERT.
                answered = await earlier_answers(tx, requests)
                fresh = [index for index in range(len(group)) if index not in answered]
                recorded = await record_orders(
                    tx,
                    [requests[index] for index in fresh],
                    [reserved[index] for index in fresh],
                    limits=self._limits,
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
            # (after the answers: when the database is away this waits for it, in vain)
            await release_unless_ordered(self._uow, self._stock, _held_ids(reserved))
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
        # A key used before for another request reserved units of its own (its id follows from
        # the request): they go back, with those of the orders refused here, before the answers
        # (a customer who corrects a refused order finds its units in stock again).
        reused = _held_ids(
            [reserved[index] for index, answer in answered.items() if isinstance(answer, Exception)]
        )
        await release_reservations(self._stock, [*recorded.refused, *reused], reason=REFUSED)
        for outcome in recorded.outcomes:
            if isinstance(outcome, Order):
                self._metrics.order_placed(outcome.total_amount)
        self._answer_each(group, {**answered, **dict(zip(fresh, recorded.outcomes, strict=True))})

    def _answer_each(
        self,
        group: list[_Waiting],
        outcomes: dict[int, PlacedOrder | Order | CloudmallError | None],
    ) -> None:
        """Each waiting request its outcome, by its index in the group (None: its reservation is
        no longer held, and it is placed alone, under a new one)."""
        for index, waiting in enumerate(group):
            outcome = outcomes[index]
            if outcome is None:
                _answer(waiting, PLACE_ALONE)
            elif isinstance(outcome, PlacedOrder):
                _answer(waiting, outcome)
            elif isinstance(outcome, Order):
                _answer(waiting, PlacedOrder(outcome, replayed=False))
            else:
                count_refusal(self._metrics, outcome)
                _fail(waiting, outcome)


def _held_ids(reserved: Sequence[Reservation | CloudmallError]) -> list[str]:
    """The ids of the reservations that hold units (not sold, not released)."""
    return [
        reservation.id
        for reservation in reserved
        if isinstance(reservation, Reservation) and reservation.status is ReservationStatus.RESERVED
    ]


def _answer(waiting: _Waiting, answer: _Answer) -> None:
    if not waiting.answer.done():
        waiting.answer.set_result(answer)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.answer.done():
        waiting.answer.set_exception(error)
