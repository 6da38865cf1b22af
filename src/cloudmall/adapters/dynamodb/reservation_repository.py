"""Stock reservations as items, their lines inside (one write per reservation in a transaction).

A reservation still `reserved` or `sold` is in GSI2's `RESERVATIONS#<status>` partition, sorted
by `<expires_at>#<id>`: the sweeper's due ones are the reserved partition's first, and the stock
invariant's units are the two partitions' lines. A released one leaves the index (sparse), so
neither read grows with the released."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from itertools import count
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    moment,
    money,
    reservation_key,
    reservation_partition,
    timestamp,
)
from cloudmall.adapters.dynamodb.transaction import MAX_ITEMS, DynamoTransaction
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine
from cloudmall.services.ports import NewReservation, RetryableConflict

#: The id counter of the lines (`COUNTER` / this kind).
LINE_COUNTER = "reservation_line"
_INDEX = ("GSI2PK", "GSI2SK")
#: The statuses whose reservations the index holds: those whose units are not in stock.
_INDEXED = (ReservationStatus.RESERVED.value, ReservationStatus.SOLD.value)


def reservation_index_keys(reservation_id: str, status: str, expires_at: str) -> dict[str, str]:
    """A reservation's GSI2 keys while its units are out of stock; none once released."""
    if status not in _INDEXED:
        return {}
    return {"GSI2PK": reservation_partition(status), "GSI2SK": f"{expires_at}#{reservation_id}"}


def _reservation(item: dict[str, Any]) -> Reservation:
    return Reservation(
        id=item["id"],
        status=ReservationStatus(item["status"]),
        lines=tuple(
            sorted(
                (
                    ReservedLine(
                        product_id=int(line["product_id"]),
                        product_name=line["product_name"],
                        unit_price=money(line["unit_price"]),
                        quantity=int(line["quantity"]),
                    )
                    for line in item["lines"]
                ),
                key=lambda line: line.product_id,
            )
        ),
        expires_at=moment(item["expires_at"]),
        created_at=moment(item["created_at"]),
        updated_at=moment(item["updated_at"]),
    )


def _taken() -> Exception:
    return RetryableConflict("a reservation with this id was made meanwhile")


def _moved() -> Exception:
    return RetryableConflict("the reservation moved meanwhile")


class DynamoReservationRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx
        self._added: set[str] = set()  # put by this unit of work
        self._read_status: dict[str, str] = {}  # the status its first move here was from

    async def add_many(self, new: Sequence[NewReservation]) -> None:
        # The put's condition is the uniqueness: a taken id cancels the whole transaction at
        # commit (RetryableConflict), and the caller's retry finds the reservation that won.
        if not new:
            return
        # Lines have ids of their own, as SQL's rows do (a backup restores them either way).
        line_ids = count(await self._tx.next_ids(LINE_COUNTER, sum(len(r.lines) for r in new)))
        clock = datetime.now(UTC)
        status = ReservationStatus.RESERVED.value
        for reservation in new:
            key, expires_at = reservation_key(reservation.id), timestamp(reservation.expires_at)
            now = timestamp(reservation.created_at or clock)
            item = {
                "PK": key[0],
                "SK": key[1],
                **reservation_index_keys(reservation.id, status, expires_at),
                "id": reservation.id,
                "status": status,
                "lines": [
                    {
                        "id": next(line_ids),
                        "product_id": line.product_id,
                        "product_name": line.product_name,
                        "unit_price": line.unit_price,
                        "quantity": line.quantity,
                    }
                    for line in reservation.lines
                ],
                "expires_at": expires_at,
                "created_at": now,
                "updated_at": now,
            }
            self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_taken)
            self._added.add(reservation.id)

    async def get_many(
        self, reservation_ids: Collection[str], *, lock: bool = False
    ) -> dict[str, Reservation]:
        # No locks in DynamoDB: the reads are consistent, and what `lock` promises is kept by the
        # writes' conditions (a move is conditioned on the status read, so of two concurrent
        # moves one commits and the other is refused and runs again).
        items = await self._tx.get_many(reservation_key(rid) for rid in sorted(reservation_ids))
        return {item["id"]: _reservation(item) for item in items.values()}

    async def transition(
        self, reservation_id: str, source: ReservationStatus, target: ReservationStatus
    ) -> bool:
        key = reservation_key(reservation_id)
        current = await self._tx.get(key)
        if current is None or current["status"] != source.value:
            return False
        now = timestamp(datetime.now(UTC))
        moved = {"status": target.value, "updated_at": now}
        indexed = reservation_index_keys(reservation_id, target.value, current["expires_at"])
        after = {k: v for k, v in current.items() if k not in _INDEX} | moved | indexed
        if reservation_id in self._added:  # not in the table yet: put it as it is now
            self._tx.put(after, again=True, condition="attribute_not_exists(#PK)", refused=_taken)
            return True
        # Moved twice in one unit of work: one write, conditioned on the status first read.
        read = self._read_status.setdefault(reservation_id, source.value)
        self._tx.unwrite(key, current)
        self._tx.update(
            key,
            set_=moved | indexed,
            remove=[name for name in _INDEX if name not in indexed],
            condition="#status = :read",
            values={":read": read},
            after=after,
            refused=_moved,
        )
        return True

    async def due(self, *, before: datetime, limit: int) -> list[str]:
        """At most as many as one transaction can release: the soonest whose items (each
        reservation, its products' stock, the outbox record) fit in MAX_ITEMS, the first always
        (it was made in one transaction); the sweeper's next batch takes the rest."""
        # The index is eventually consistent: what it names is read again consistently, and
        # only what is still reserved is due (one sold a moment ago is not).
        indexed = await self._tx.query(
            reservation_partition(ReservationStatus.RESERVED.value),
            index="GSI2",
            since="0",
            until=timestamp(before),
            limit=limit,
        )
        found = await self.get_many([item["id"] for item in indexed])
        due: list[str] = []
        products: set[int] = set()
        for item in indexed:
            reservation = found.get(item["id"])
            if (
                reservation is None
                or reservation.status is not ReservationStatus.RESERVED
                or reservation.expires_at >= before
            ):
                continue
            with_it = products | set(reservation.quantities)
            if due and len(due) + 1 + len(with_it) + 1 > MAX_ITEMS:
                break
            due.append(reservation.id)
            products = with_it
        return due

    async def units(self) -> dict[int, tuple[int, int]]:
        """One Query of each index partition (eventually consistent: a move of the last second
        may not be counted yet)."""
        counted: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for column, status in enumerate(_INDEXED):
            for item in await self._tx.query(reservation_partition(status), index="GSI2"):
                for line in item["lines"]:
                    counted[int(line["product_id"])][column] += int(line["quantity"])
        return {product_id: (reserved, sold) for product_id, (reserved, sold) in counted.items()}
