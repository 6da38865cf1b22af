"""Placing, listing and moving orders along pending → paid → shipped → delivered | cancelled."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import astuple, dataclass, replace
from decimal import Decimal
from typing import Protocol

from cloudmall.domain import events
from cloudmall.domain.delivery import (
    Address,
    DeliveryFees,
    Shipment,
    check_address,
    check_shipment,
    quote,
)
from cloudmall.domain.errors import (
    AddressRequired,
    CloudmallError,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OrderLimitExceeded,
    OutOfStock,
    PermissionDenied,
    TotalMismatch,
)
from cloudmall.domain.money import to_money
from cloudmall.domain.orders import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    Order,
    OrderLine,
    OrderStatus,
    check_transition,
    merge_items,
)
from cloudmall.domain.reservations import Reservation, ReservationStatus
from cloudmall.services.idempotency import check_key, fingerprint, replay, with_retries
from cloudmall.services.ports import (
    Metrics,
    NewIdempotencyRecord,
    NewOrder,
    Principal,
    ReservationRequest,
    RetryableConflict,
    StockDesk,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id
from cloudmall.services.snapshots import order_from_dict, order_to_dict

log = logging.getLogger(__name__)

MAX_PAGE = 100
#: The scope of orders' Idempotency-Keys (payments have one per order).
ORDER_KEY_SCOPE = "order"
#: Why an order's reservation is released when it was not placed: refused (its total or the
#: limits), or its transaction failed.
REFUSED = "refused"
FAILED = "failed"


NO_FEE = DeliveryFees()


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """The shop's rules for one order: its limits, and the delivery fee it adds."""

    max_lines: int = MAX_LINES
    max_quantity: int = MAX_LINE_QUANTITY
    max_total: Decimal = Decimal("100000000")  # of the goods
    fees: DeliveryFees = NO_FEE


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    replayed: bool


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One customer's order as asked: its shape checked, not yet its stock and prices."""

    user_id: int
    quantities: Mapping[int, int]
    client_total: Decimal | None  # of the goods, as the client saw them
    key: str | None
    fingerprint: str
    reservation_id: str  # of its units (ports.StockDesk): the same for a retry of the request
    request_id: str | None = None  # the HTTP request's, carried by the order's events
    address: Address | None = None  # None: to be given before paying
    # The request's span (W3C), for its `order.placed` recorded in another's group transaction.
    traceparent: str | None = None


def new_reservation_id() -> str:
    return "o-" + uuid.uuid4().hex


def reservation_id_for(user_id: int, key: str | None, request_print: str) -> str:
    """The reservation an order asks for. With an Idempotency-Key it follows from the customer,
    the key and the request, so a retry names the same one (and reserves nothing twice) while
    another request under the key names another; without one, a new id."""
    if key is None:
        return new_reservation_id()
    digest = hashlib.sha256(f"{user_id}\n{key}\n{request_print}".encode()).hexdigest()
    return "o-" + digest[:40]


def order_request(
    *,
    principal: Principal,
    items: Sequence[tuple[int, int]],
    client_total: Decimal | None,
    idempotency_key: str | None,
    limits: OrderLimits,
    address: Address | None = None,
) -> OrderRequest:
    key = check_key(idempotency_key)
    quantities = merge_items(items, max_lines=limits.max_lines, max_quantity=limits.max_quantity)
    address = check_address(address) if address is not None else None
    asked: dict[str, object] = {
        "items": sorted(quantities.items()),
        "total": str(client_total) if client_total else None,
    }
    if address is not None:  # (absent otherwise: keys stored before addresses keep their print)
        asked["address"] = list(astuple(address))
    request_print = fingerprint(asked)
    return OrderRequest(
        principal.user_id,
        quantities,
        client_total,
        key,
        request_print,
        reservation_id_for(principal.user_id, key, request_print),
        current_request_id.get(),
        address,
    )


def reservation_request(request: OrderRequest) -> ReservationRequest:
    return ReservationRequest(request.reservation_id, request.quantities)


def _held(reserved: Reservation | CloudmallError) -> bool:
    return isinstance(reserved, Reservation) and reserved.status is ReservationStatus.RESERVED


def _priced(request: OrderRequest, reservation: Reservation, limits: OrderLimits) -> NewOrder:
    """The order to record for the request's reserved units, if the limits and the client's
    total allow it at the prices they were reserved at.

    The client's total is compared with the goods' (the fee is the server's to add)."""
    lines = tuple(
        OrderLine(line.product_id, line.product_name, line.quantity, line.unit_price)
        for line in reservation.lines
    )
    subtotal = to_money(sum((line.line_total for line in lines), Decimal(0)))
    if subtotal > limits.max_total:
        raise OrderLimitExceeded(f"An order's total can be at most {limits.max_total}")
    if request.client_total is not None and request.client_total != subtotal:
        raise TotalMismatch(sent=request.client_total, current=subtotal)
    cost = quote(subtotal, limits.fees)
    return NewOrder(
        request.user_id,
        lines,
        cost.total,
        cost.subtotal,
        cost.delivery_fee,
        request.address,
        reservation_id=reservation.id,
    )


@dataclass(frozen=True, slots=True)
class RecordedOrders:
    """Per request, in order, its new order, why it was refused, or None when its reservation
    is no longer held (sold or released: it is to be reserved again); and the reservations of
    the orders refused here, to be released once the transaction is over."""

    outcomes: list[Order | CloudmallError | None]
    refused: list[str]


async def record_orders(
    tx: UnitOfWork,
    requests: Sequence[OrderRequest],
    reserved: Sequence[Reservation | CloudmallError],
    *,
    limits: OrderLimits,
) -> RecordedOrders:
    """Check each order against what the products context reserved for it (or why it refused),
    and record those that pass with their `order.placed` and their Idempotency-Keys' answers, in
    the caller's (the orders context's) transaction. A refused order leaves the others as they
    are."""
    outcomes: list[Order | CloudmallError | None] = [None] * len(requests)
    refused: list[str] = []
    accepted: dict[int, NewOrder] = {}
    for index, (request, reservation) in enumerate(zip(requests, reserved, strict=True)):
        if isinstance(reservation, CloudmallError):
            outcomes[index] = reservation  # it took nothing
        elif _held(reservation):
            try:
                accepted[index] = _priced(request, reservation, limits)
            except CloudmallError as refusal:
                outcomes[index] = refusal
                refused.append(reservation.id)
    if accepted:
        # A reservation held by an order already fails here (unique), and so does a key taken
        # already: the whole transaction goes back, and a retry finds the first answer.
        placed = dict(zip(accepted, await tx.orders.add_many(list(accepted.values())), strict=True))
        await tx.outbox.add(
            [
                events.order_placed(
                    order,
                    request_id=requests[index].request_id,
                    traceparent=requests[index].traceparent,
                )
                for index, order in placed.items()
            ]
        )
        records = [
            NewIdempotencyRecord(
                order.user_id,
                ORDER_KEY_SCOPE,
                request.key,
                request.fingerprint,
                json.dumps(order_to_dict(order)),
            )
            for index, order in placed.items()
            if (request := requests[index]).key is not None
        ]
        if records:
            await tx.idempotency.save_many(records)
        for index, order in placed.items():
            outcomes[index] = order
    return RecordedOrders(outcomes, refused)


async def earlier_answers(
    tx: UnitOfWork, requests: Sequence[OrderRequest]
) -> dict[int, PlacedOrder | CloudmallError]:
    """By request index, the first answers to those whose Idempotency-Key was used before.

    A key used before for a different order answers IdempotencyKeyReused.
    """
    keys = [(request.user_id, request.key) for request in requests if request.key is not None]
    if not keys:
        return {}
    records = await tx.idempotency.get_many(scope=ORDER_KEY_SCOPE, keys=keys)
    answers: dict[int, PlacedOrder | CloudmallError] = {}
    for index, request in enumerate(requests):
        if request.key is None or (record := records.get((request.user_id, request.key))) is None:
            continue
        try:
            answers[index] = PlacedOrder(order_from_dict(replay(record, request.fingerprint)), True)
        except IdempotencyKeyReused as reused:
            answers[index] = reused
    return answers


def count_refusal(metrics: Metrics, refusal: CloudmallError) -> None:
    """Count a refusal as the customer gets it (once, however often it was met)."""
    if isinstance(refusal, OutOfStock):
        metrics.stock_out()


async def release_reservations(
    stock: StockDesk, reservation_ids: Collection[str], *, reason: str
) -> None:
    """Give back units that no order holds (best effort: one left over expires)."""
    for reservation_id in reservation_ids:
        try:
            await stock.release(reservation_id, reason=reason)
        except Exception as exc:
            log.warning("could not release a reservation (%s): it expires", type(exc).__name__)


async def release_unless_ordered(
    uow: UnitOfWorkFactory, stock: StockDesk, reservation_ids: Collection[str]
) -> None:
    """After an orders transaction failed: release the reservations no order holds (its commit
    may have happened unseen). When that cannot be known, they expire instead."""
    try:
        async with uow() as tx:
            held = {
                reservation_id
                for reservation_id in reservation_ids
                if await tx.orders.by_reservation(reservation_id) is not None
            }
    except Exception as exc:
        log.warning("could not look up reservations to release (%s)", type(exc).__name__)
        return
    await release_reservations(
        stock, [rid for rid in reservation_ids if rid not in held], reason=FAILED
    )


async def place_order(
    *,
    uow: UnitOfWorkFactory,
    stock: StockDesk,
    metrics: Metrics,
    request: OrderRequest,
    limits: OrderLimits,
) -> PlacedOrder:
    """Reserve the order's units, then record it in a transaction of its own, at the prices they
    were reserved at (docs/microservices.md, the order saga).

    A client-sent total is only compared: if it differs, the order is refused with the current
    total (and its units released). A retry with the same Idempotency-Key gets the first answer
    back. If the order cannot be recorded, its units are released (or expire).
    """
    placing = _Placing(uow, stock, metrics, request, limits, request.reservation_id)
    try:
        return await with_retries(placing.attempt)
    except Exception:
        if not placing.settled:
            await release_unless_ordered(uow, stock, [placing.reservation_id])
        raise


@dataclass(slots=True)
class _Placing:
    """One order placed alone, over as many attempts as the database asks for."""

    uow: UnitOfWorkFactory
    stock: StockDesk
    metrics: Metrics
    request: OrderRequest
    limits: OrderLimits
    reservation_id: str  # a new one when the request's is no longer held
    attempts: int = 0
    settled: bool = False  # the answer is final, and nothing is left to release

    async def earlier_answer(self, tx: UnitOfWork) -> PlacedOrder | None:
        if self.request.key is None:
            return None
        answer = (await earlier_answers(tx, [self.request])).get(0)
        if isinstance(answer, CloudmallError):
            raise answer  # (this request's own reservation, if any, is released by the caller)
        if answer is not None:
            self.settled = True  # its reservation is the first order's
        return answer

    async def attempt(self) -> PlacedOrder:
        self.attempts += 1
        asked = replace(self.request, reservation_id=self.reservation_id)
        (reserved,) = await self.stock.reserve([reservation_request(asked)])
        # Optimistic about the key: a first attempt whose units were reserved does not look it
        # up (a new key is the common case, and the unique indexes catch a used one at the
        # end); a retry, or one whose units were not reserved, looks first.
        looked = self.request.key is not None and (self.attempts > 1 or not _held(reserved))
        async with self.uow(write=True) as tx:
            if looked and (earlier := await self.earlier_answer(tx)):
                return earlier
            recorded = await record_orders(tx, [asked], [reserved], limits=self.limits)
            outcome = recorded.outcomes[0]
            if outcome is None:
                # Its reservation was released (a refusal or a failure before) or sold: the
                # request starts over under a new one.
                self.reservation_id = new_reservation_id()
                raise RetryableConflict("an order's reservation is no longer held")
            if isinstance(outcome, CloudmallError):
                # A retry of an order that went through may meet prices changed since: its
                # first answer wins over a refusal.
                if not looked and (earlier := await self.earlier_answer(tx)):
                    return earlier
            else:
                await tx.commit()
        if isinstance(outcome, CloudmallError):
            await release_reservations(self.stock, recorded.refused, reason=REFUSED)
            self.settled = True
            count_refusal(self.metrics, outcome)
            raise outcome
        self.settled = True
        self.metrics.order_placed(outcome.total_amount)
        return PlacedOrder(outcome, False)


class OrderPlacer(Protocol):
    """How orders are placed: together in groups (OrderDesk) or one per transaction."""

    async def place(
        self,
        *,
        principal: Principal,
        items: Sequence[tuple[int, int]],
        client_total: Decimal | None,
        idempotency_key: str | None,
        address: Address | None = None,
    ) -> PlacedOrder: ...

    async def aclose(self) -> None:
        """Let orders under way finish."""
        ...


@dataclass(frozen=True, slots=True)
class OrderPerTransaction:
    """Each order in a transaction of its own: for a process that serves one request at a time
    (a function), where there is never a group to gather."""

    uow: UnitOfWorkFactory
    stock: StockDesk
    metrics: Metrics
    limits: OrderLimits

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
            limits=self.limits,
            address=address,
        )
        return await place_order(
            uow=self.uow,
            stock=self.stock,
            metrics=self.metrics,
            request=request,
            limits=self.limits,
        )

    async def aclose(self) -> None:
        """Nothing runs between requests."""


async def visible_order(tx: UnitOfWork, principal: Principal, order_id: int) -> Order:
    """The order if the caller may see it; others' orders look like missing ones."""
    order = await tx.orders.get(order_id)
    if order is None or (order.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"Order {order_id} does not exist")
    return order


async def get_order(*, uow: UnitOfWorkFactory, principal: Principal, order_id: int) -> Order:
    async with uow() as tx:
        return await visible_order(tx, principal, order_id)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE} and offset not negative")


async def list_my_orders(
    *, uow: UnitOfWorkFactory, principal: Principal, limit: int = 20, offset: int = 0
) -> list[Order]:
    _check_page(limit, offset)
    async with uow() as tx:
        return await tx.orders.list_for_user(principal.user_id, limit=limit, offset=offset)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("Only shop staff can do this")


async def list_all_orders(
    *,
    uow: UnitOfWorkFactory,
    principal: Principal,
    status: OrderStatus | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Order]:
    require_admin(principal)
    _check_page(limit, offset)
    async with uow() as tx:
        return await tx.orders.list_all(status=status, limit=limit, offset=offset)


async def move_order(
    tx: UnitOfWork, principal: Principal, order_id: int, target: OrderStatus
) -> Order:
    """Move an order along one edge of the state machine, in the caller's transaction."""
    order = await visible_order(tx, principal, order_id)
    check_transition(order.status, target)
    if not await tx.orders.transition(order_id, order.status, target):
        current = await tx.orders.get(order_id)
        status = current.status if current else order.status
        raise InvalidTransition(f"The order became {status} meanwhile; it cannot become {target}")
    moved = await tx.orders.get(order_id)
    assert moved is not None
    await tx.outbox.add([events.order_moved(moved, request_id=current_request_id.get())])
    return moved


async def advance_order(
    *,
    uow: UnitOfWorkFactory,
    principal: Principal,
    order_id: int,
    target: OrderStatus,
    shipment: Shipment | None = None,
) -> Order:
    """Staff moves: paid → shipped (with its carrier and tracking number, to its address),
    shipped → delivered."""
    require_admin(principal)
    if target not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise InvalidInput("Staff can only mark orders shipped or delivered")
    if target is OrderStatus.SHIPPED:
        if shipment is None:
            raise InvalidInput("Shipping an order needs its carrier and tracking number")
        shipment = check_shipment(shipment.carrier, shipment.tracking_number)

    async def attempt() -> Order:
        async with uow(write=True) as tx:
            if shipment is not None:
                order = await visible_order(tx, principal, order_id)
                check_transition(order.status, target)  # not paid: that first, then the address
                if order.address is None:
                    raise AddressRequired("The order has no delivery address yet")
                await tx.orders.set_shipment(order_id, shipment)
            order = await move_order(tx, principal, order_id, target)
            await tx.commit()
            return order

    return await with_retries(attempt)


async def set_order_address(
    *, uow: UnitOfWorkFactory, principal: Principal, order_id: int, address: Address
) -> Order:
    """Give (or change) the address of one's own order, until it is shipped."""
    address = check_address(address)

    async def attempt() -> Order:
        async with uow(write=True) as tx:
            order = await visible_order(tx, principal, order_id)
            if order.user_id != principal.user_id:
                raise NotFound(f"Order {order_id} does not exist")
            if order.status not in (OrderStatus.PENDING, OrderStatus.PAID):
                raise InvalidTransition(f"The address of an order that is {order.status} is fixed")
            await tx.orders.set_address(order_id, address)
            changed = await tx.orders.get(order_id)
            assert changed is not None
            await tx.commit()
            return changed

    return await with_retries(attempt)
