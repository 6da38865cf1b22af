"""Placing, listing and moving orders along pending → paid → shipped → delivered | cancelled."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from decimal import Decimal
from typing import Protocol

from cloudmall.domain import events
from cloudmall.domain.delivery import (
    Address,
    DeliveryFees,
    Quote,
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
from cloudmall.domain.orders import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    Order,
    OrderLine,
    OrderStatus,
    check_transition,
    merge_items,
    price_lines,
)
from cloudmall.domain.products import LOW_STOCK, Product
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.idempotency import check_key, fingerprint, replay, with_retries
from cloudmall.services.ports import (
    Metrics,
    NewIdempotencyRecord,
    NewOrder,
    Principal,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id
from cloudmall.services.snapshots import order_from_dict, order_to_dict

MAX_PAGE = 100
#: The scope of orders' Idempotency-Keys (payments have one per order).
ORDER_KEY_SCOPE = "order"


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
    request_id: str | None = None  # the HTTP request's, carried by the order's events
    address: Address | None = None  # None: to be given before paying


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
        current_request_id.get(),
        address,
    )


@dataclass(frozen=True, slots=True)
class RecordedOrders:
    """Per request, in order, its new order or why it was refused; and the stock left after."""

    outcomes: list[Order | CloudmallError]
    stock_left: dict[int, int]


def _priced(
    request: OrderRequest,
    products: Mapping[int, Product],
    left: Mapping[int, int],
    limits: OrderLimits,
) -> tuple[tuple[OrderLine, ...], Quote]:
    """The order's lines and what it costs, if the stock `left` and the limits allow it.

    The client's total is compared with the goods' (the fee is the server's to add)."""
    lines, subtotal = price_lines(request.quantities, products)
    if subtotal > limits.max_total:
        raise OrderLimitExceeded(f"An order's total can be at most {limits.max_total}")
    if request.client_total is not None and request.client_total != subtotal:
        raise TotalMismatch(sent=request.client_total, current=subtotal)
    for line in lines:
        if left[line.product_id] < line.quantity:
            raise OutOfStock(line.product_id, line.product_name, left[line.product_id])
    return lines, quote(subtotal, limits.fees)


async def record_orders(
    tx: UnitOfWork, requests: Sequence[OrderRequest], *, limits: OrderLimits
) -> RecordedOrders:
    """Check each order against the locked stock and today's prices, in turn, and record those
    that pass, in the caller's transaction. A refused order takes nothing and leaves the others
    as they are.
    """
    # Locked (in product-id order, so concurrent orders never deadlock one another): the stock
    # read here stays true until commit, so what is left is known exactly.
    products = await tx.products.get_many(
        {pid for r in requests for pid in r.quantities}, lock=True
    )
    left = {product_id: product.stock_quantity for product_id, product in products.items()}
    refused: dict[int, CloudmallError] = {}
    accepted: dict[int, NewOrder] = {}
    taken: Counter[int] = Counter()
    for index, request in enumerate(requests):
        try:
            lines, cost = _priced(request, products, left, limits)
        except CloudmallError as refusal:
            refused[index] = refusal
            continue
        for line in lines:
            left[line.product_id] -= line.quantity
            taken[line.product_id] += line.quantity
        accepted[index] = NewOrder(
            request.user_id, lines, cost.total, cost.subtotal, cost.delivery_fee, request.address
        )
    placed: dict[int, Order] = {}
    if accepted:
        await tx.products.take_locked_stock(taken)
        placed = dict(zip(accepted, await tx.orders.add_many(list(accepted.values())), strict=True))
        await tx.outbox.add(_placed_events(placed, requests, products))
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
            # A key already taken fails here (unique), and the whole transaction goes back.
            await tx.idempotency.save_many(records)
    return RecordedOrders(
        [placed.get(index) or refused[index] for index in range(len(requests))],
        {product_id: left[product_id] for product_id in taken},
    )


def _placed_events(
    placed: Mapping[int, Order], requests: Sequence[OrderRequest], products: Mapping[int, Product]
) -> list[events.Event]:
    """Each order placed, then the units it took from each product (in placing order)."""
    stock = {product_id: product.stock_quantity for product_id, product in products.items()}
    recorded: list[events.Event] = []
    for index, order in placed.items():
        request_id = requests[index].request_id
        recorded.append(events.order_placed(order, request_id=request_id))
        for line in order.lines:
            stock[line.product_id] -= line.quantity
            recorded.append(
                events.stock_changed(
                    line.product_id,
                    delta=-line.quantity,
                    stock=stock[line.product_id],
                    reason="order",
                    order_id=order.id,
                    request_id=request_id,
                )
            )
    return recorded


async def earlier_answers(
    tx: UnitOfWork, requests: Sequence[OrderRequest]
) -> dict[int, PlacedOrder | CloudmallError]:
    """By request index, the first answers to those whose Idempotency-Key was used before.

    A key used before for a different order answers IdempotencyKeyReused.
    """
    keys = [(request.user_id, request.key) for request in requests if request.key is not None]
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


async def announce_placed(
    cache: CatalogCache, metrics: Metrics, placed: Sequence[Order], stock_left: Mapping[int, int]
) -> None:
    """After commit: count the orders, and drop cached pages whose stock became low or ran out.

    Cached pages show plentiful stock as of up to the cache's TTL ago; low and sold-out counts are
    exact (and an order itself always reads the real stock).
    """
    for order in placed:
        metrics.order_placed(order.total_amount)
    low = [product_id for product_id, units in stock_left.items() if units <= LOW_STOCK]
    await cache.invalidate_stock(low, availability_changed=0 in stock_left.values())


async def place_order(
    *,
    uow: UnitOfWorkFactory,
    cache: CatalogCache,
    metrics: Metrics,
    request: OrderRequest,
    limits: OrderLimits,
) -> PlacedOrder:
    """Take the stock and record one order in its own transaction, at today's prices.

    A client-sent total is only compared: if it differs, the order is refused with the current
    total. A retry with the same Idempotency-Key gets the first answer back.
    """

    async def earlier_answer(tx: UnitOfWork) -> PlacedOrder | None:
        if request.key is None:
            return None
        answer = (await earlier_answers(tx, [request])).get(0)
        if isinstance(answer, CloudmallError):
            raise answer
        return answer

    attempts = 0

    async def attempt() -> PlacedOrder:
        # Optimistic about the key: a first attempt does not look it up (a new key is the common
        # case, and its unique index catches a used one at the end); a retry looks first.
        nonlocal attempts
        attempts += 1
        async with uow(write=True) as tx:
            if attempts > 1 and (earlier := await earlier_answer(tx)):
                return earlier
            recorded = await record_orders(tx, [request], limits=limits)
            outcome = recorded.outcomes[0]
            if isinstance(outcome, CloudmallError):
                # A retry of an order that went through meets the stock and prices it left
                # behind: its first answer wins over a refusal.
                if attempts == 1 and (earlier := await earlier_answer(tx)):
                    return earlier
                count_refusal(metrics, outcome)
                raise outcome
            await tx.commit()
        await announce_placed(cache, metrics, [outcome], recorded.stock_left)
        return PlacedOrder(outcome, False)

    return await with_retries(attempt)


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
    cache: CatalogCache
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
            cache=self.cache,
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
