"""The products context's stock reservations: reserve, confirm, release and expire, each in a
transaction of its own (docs/microservices.md). Every move is made once: a reservation changes
status by a conditional update, and its units move with it in the same transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloudmall.domain import events
from cloudmall.domain.errors import (
    CloudmallError,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    OutOfStock,
)
from cloudmall.domain.events import Event
from cloudmall.domain.products import LOW_STOCK, Product
from cloudmall.domain.reservations import (
    Reservation,
    ReservationExpired,
    ReservationStatus,
    ReservedLine,
)
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.idempotency import with_retries
from cloudmall.services.ports import (
    NewReservation,
    ReservationRequest,
    RetryableConflict,
    UnitOfWork,
    UnitOfWorkFactory,
)
from cloudmall.services.request_context import current_request_id

#: Reservations the sweeper releases per transaction.
EXPIRE_BATCH = 100
#: The longest reservation id (the column's width).
MAX_ID_LENGTH = 64


def _same(reservation: Reservation, request: ReservationRequest) -> bool:
    return reservation.quantities == dict(request.quantities)


def _check_request(request: ReservationRequest) -> None:
    if not 0 < len(request.id) <= MAX_ID_LENGTH:
        raise InvalidInput(f"A reservation id has 1 to {MAX_ID_LENGTH} characters")
    if not request.quantities or any(quantity < 1 for quantity in request.quantities.values()):
        raise InvalidInput("A reservation takes at least one unit of each product it names")


def _reserved_lines(
    request: ReservationRequest, products: Mapping[int, Product], left: Mapping[int, int]
) -> tuple[ReservedLine, ...]:
    """The request's lines at today's names and prices, or why it cannot be had."""
    _check_request(request)
    lines = []
    for product_id in sorted(request.quantities):
        product = products.get(product_id)
        if product is None:
            raise NotFound(f"Product {product_id} does not exist")
        quantity = request.quantities[product_id]
        if left[product_id] < quantity:
            raise OutOfStock(product_id, product.name, left[product_id])
        lines.append(ReservedLine(product_id, product.name, product.price, quantity))
    return tuple(lines)


async def reserve_many(
    uow: UnitOfWorkFactory,
    requests: Sequence[ReservationRequest],
    *,
    cache: CatalogCache,
    reservation_minutes: int,
    now: datetime,
) -> list[Reservation | CloudmallError]:
    """Each request's units under its id, in turn, in one transaction: its reservation, or why it
    was refused (a refused one takes nothing). An id reserved before answers that reservation as
    it is (IdempotencyKeyReused if asked for other quantities), taking nothing again."""
    expires_at = now + timedelta(minutes=reservation_minutes)

    async def attempt() -> tuple[list[Reservation | CloudmallError], dict[int, int]]:
        async with uow(write=True) as tx:
            earlier = await tx.reservations.get_many({request.id for request in requests})
            # Locked in product-id order (concurrent reserves never deadlock one another): the
            # stock read here stays true until commit, so what is left is known exactly.
            products = await tx.products.get_many(
                {pid for r in requests if r.id not in earlier for pid in r.quantities}, lock=True
            )
            left = {product_id: product.stock_quantity for product_id, product in products.items()}
            outcomes: list[Reservation | CloudmallError] = []
            accepted: dict[str, Reservation] = {}
            for request in requests:
                known = earlier.get(request.id) or accepted.get(request.id)
                if known is not None:
                    outcomes.append(known if _same(known, request) else _reused(request))
                    continue
                try:
                    lines = _reserved_lines(request, products, left)
                except CloudmallError as refusal:
                    outcomes.append(refusal)
                    continue
                for line in lines:
                    left[line.product_id] -= line.quantity
                accepted[request.id] = Reservation(
                    request.id, ReservationStatus.RESERVED, lines, expires_at, now, now
                )
                outcomes.append(accepted[request.id])
            if not accepted:
                return outcomes, {}
            taken: Counter[int] = Counter()
            for reservation in accepted.values():
                taken.update(reservation.quantities)
            await tx.products.take_locked_stock(taken)
            await tx.reservations.add_many(
                [NewReservation(r.id, r.lines, r.expires_at, now) for r in accepted.values()]
            )
            await tx.outbox.add(_taken_events(accepted.values(), products))
            await tx.commit()
        return outcomes, {product_id: left[product_id] for product_id in taken}

    outcomes, stock_left = await with_retries(attempt)
    if stock_left:
        # As an order did: pages whose stock became low or ran out go (docs/performance.md).
        low = sorted(product_id for product_id, units in stock_left.items() if units <= LOW_STOCK)
        await cache.invalidate_stock(low, availability_changed=0 in stock_left.values())
    return outcomes


def _reused(request: ReservationRequest) -> IdempotencyKeyReused:
    return IdempotencyKeyReused(f"Reservation {request.id!r} was already made for other quantities")


def _taken_events(
    reservations: Iterable[Reservation], products: Mapping[int, Product]
) -> list[Event]:
    """The units each reservation took from each product, in turn."""
    stock = {product_id: product.stock_quantity for product_id, product in products.items()}
    recorded = []
    for reservation in reservations:
        for line in reservation.lines:
            stock[line.product_id] -= line.quantity
            recorded.append(
                events.stock_changed(
                    line.product_id,
                    delta=-line.quantity,
                    stock=stock[line.product_id],
                    reason="order",
                    reservation_id=reservation.id,
                    request_id=current_request_id.get(),
                )
            )
    return recorded


async def confirm(uow: UnitOfWorkFactory, reservation_id: str) -> Reservation:
    """`reserved` → `sold`; sold already: as it is. Released: ReservationExpired."""

    async def attempt() -> Reservation:
        async with uow(write=True) as tx:
            found = await _locked(tx, reservation_id)
            if found is None:
                raise NotFound(f"Reservation {reservation_id!r} does not exist")
            if found.status is ReservationStatus.RELEASED:
                raise ReservationExpired(f"Reservation {reservation_id!r} was released")
            if found.status is ReservationStatus.SOLD:
                return found
            if not await tx.reservations.transition(
                reservation_id, ReservationStatus.RESERVED, ReservationStatus.SOLD
            ):
                raise RetryableConflict(f"reservation {reservation_id} moved meanwhile")
            sold = await _locked(tx, reservation_id)
            await tx.commit()
        assert sold is not None
        return sold

    return await with_retries(attempt)


@dataclass(frozen=True, slots=True)
class Released:
    """What releasing a reservation did: the reservation as it is now (None: unknown), the
    products whose units came back (none if it was released before), and whether one of them
    had sold out."""

    reservation: Reservation | None
    product_ids: list[int]
    back_in_stock: bool = False

    async def invalidate(self, cache: CatalogCache) -> None:
        """Forget the catalogue's answers the units' return changed (after the commit)."""
        if self.product_ids:
            await cache.invalidate_stock(self.product_ids, availability_changed=self.back_in_stock)


async def release_in(tx: UnitOfWork, reservation_id: str, *, reason: str | None = None) -> Released:
    """`reserved` or `sold` → `released` in `tx`, its units back to stock, once (see release)."""
    found = await _locked(tx, reservation_id)
    if found is None or found.status is ReservationStatus.RELEASED:
        return Released(found, [])
    if not await tx.reservations.transition(
        reservation_id, found.status, ReservationStatus.RELEASED
    ):
        raise RetryableConflict(f"reservation {reservation_id} moved meanwhile")
    why = reason or ("refund" if found.status is ReservationStatus.SOLD else "cancel")
    back_in_stock = await _give_back(tx, [found], reason=why)
    return Released(await _locked(tx, reservation_id), sorted(found.quantities), back_in_stock)


async def release(
    uow: UnitOfWorkFactory, reservation_id: str, *, cache: CatalogCache, reason: str | None = None
) -> Reservation | None:
    """`reserved` or `sold` → `released`, its units back to stock, once. `reason` (cancel,
    refund, expired) is, when not given, a refund for a sold one and a cancel otherwise.
    Released already: as it is; unknown: None."""

    async def attempt() -> Released:
        async with uow(write=True) as tx:
            released = await release_in(tx, reservation_id, reason=reason)
            await tx.commit()
        return released

    released = await with_retries(attempt)
    await released.invalidate(cache)
    return released.reservation


async def expire_due(
    uow: UnitOfWorkFactory, *, cache: CatalogCache, now: datetime, limit: int = EXPIRE_BATCH
) -> int:
    """Release up to `limit` reservations still `reserved` past their time (reason `expired`,
    with `stock.reservation_expired` each); how many."""

    async def attempt() -> tuple[int, list[int], bool]:
        async with uow(write=True) as tx:
            due = await tx.reservations.due(before=now, limit=limit)
            if not due:
                return 0, [], False
            expired = [
                reservation
                for reservation in (await tx.reservations.get_many(due, lock=True)).values()
                if reservation.status is ReservationStatus.RESERVED
                and reservation.expires_at < now
                and await tx.reservations.transition(
                    reservation.id, ReservationStatus.RESERVED, ReservationStatus.RELEASED
                )
            ]
            back_in_stock = await _give_back(tx, expired, reason="expired")
            await tx.outbox.add(
                [
                    events.reservation_expired(r.id, request_id=current_request_id.get())
                    for r in expired
                ]
            )
            await tx.commit()
        product_ids = sorted({pid for reservation in expired for pid in reservation.quantities})
        return len(expired), product_ids, back_in_stock

    count, product_ids, back_in_stock = await with_retries(attempt)
    if product_ids:
        await cache.invalidate_stock(product_ids, availability_changed=back_in_stock)
    return count


def cancelled_reservation(event: Event) -> str | None:
    """The reservation an `order.cancelled` names (None for other events, and for orders from
    before reservations)."""
    if event.type != events.ORDER_CANCELLED.name:
        return None
    reservation_id = event.payload.get("reservation_id")
    return reservation_id if isinstance(reservation_id, str) and reservation_id else None


async def handle_order_event(uow: UnitOfWorkFactory, event: Event, *, cache: CatalogCache) -> None:
    """The `stock` consumer: a cancelled order's reservation is released (once, however often
    the event comes); events without a reservation (orders from before them) are skipped."""
    if reservation_id := cancelled_reservation(event):
        await release(uow, reservation_id, cache=cache)


async def _locked(tx: UnitOfWork, reservation_id: str) -> Reservation | None:
    return (await tx.reservations.get_many([reservation_id], lock=True)).get(reservation_id)


async def _give_back(tx: UnitOfWork, released: Sequence[Reservation], *, reason: str) -> bool:
    """Return the released reservations' units to stock, recording each product's change; True
    if a product was sold out before."""
    product_ids = sorted({pid for reservation in released for pid in reservation.quantities})
    before = await tx.products.get_many(product_ids, lock=True)
    stock = {product_id: product.stock_quantity for product_id, product in before.items()}
    returned: list[Event] = []
    for reservation in released:
        for line in reservation.lines:
            await tx.products.return_stock(line.product_id, line.quantity)
            if line.product_id in stock:
                stock[line.product_id] += line.quantity
            else:  # taken off sale since (not in `before`): its count as it is now
                product = await tx.products.get(line.product_id)
                stock[line.product_id] = product.stock_quantity if product else line.quantity
            returned.append(
                events.stock_changed(
                    line.product_id,
                    delta=line.quantity,
                    stock=stock[line.product_id],
                    reason=reason,
                    reservation_id=reservation.id,
                    request_id=current_request_id.get(),
                )
            )
    await tx.outbox.add(returned)
    return any(product.stock_quantity == 0 for product in before.values())
