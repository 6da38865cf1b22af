"""Stock reservations and their lines over one AsyncConnection (the products context's)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.rows import cents
from cloudmall.adapters.db.tables import stock_reservation_lines, stock_reservations, utcnow
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine
from cloudmall.services.ports import NewReservation, RetryableConflict

_INSERT_RESERVATIONS = stock_reservations.insert()
_INSERT_LINES = stock_reservation_lines.insert()
_BY_IDS = select(stock_reservations).where(
    stock_reservations.c.id.in_(bindparam("ids", expanding=True))
)
# Locked in id order, so two callers locking overlapping sets never deadlock one another.
_BY_IDS_LOCKED = _BY_IDS.order_by(stock_reservations.c.id).with_for_update()
_LINES_OF = (
    select(stock_reservation_lines)
    .where(stock_reservation_lines.c.reservation_id.in_(bindparam("ids", expanding=True)))
    .order_by(stock_reservation_lines.c.reservation_id, stock_reservation_lines.c.product_id)
)
_TRANSITION = (
    update(stock_reservations)
    .where(
        stock_reservations.c.id == bindparam("reservation_id"),
        stock_reservations.c.status == bindparam("source"),
    )
    .values(status=bindparam("target"), updated_at=bindparam("now"))
)
_DUE = (
    select(stock_reservations.c.id)
    .where(
        stock_reservations.c.status == ReservationStatus.RESERVED.value,
        stock_reservations.c.expires_at < bindparam("before"),
    )
    .order_by(stock_reservations.c.expires_at, stock_reservations.c.id)
    .limit(bindparam("limit"))
)
_UNITS = (
    select(
        stock_reservation_lines.c.product_id,
        stock_reservations.c.status,
        func.sum(stock_reservation_lines.c.quantity).label("units"),
    )
    .join(stock_reservations, stock_reservations.c.id == stock_reservation_lines.c.reservation_id)
    .where(
        stock_reservations.c.status.in_(
            [ReservationStatus.RESERVED.value, ReservationStatus.SOLD.value]
        )
    )
    .group_by(stock_reservation_lines.c.product_id, stock_reservations.c.status)
)


def _line(row: Row[Any]) -> ReservedLine:
    return ReservedLine(
        product_id=row.product_id,
        product_name=row.product_name,
        unit_price=cents(row.unit_price),
        quantity=row.quantity,
    )


class SqlReservationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_many(self, new: Sequence[NewReservation]) -> None:
        if not new:
            return
        now = utcnow()
        try:
            await self._conn.execute(
                _INSERT_RESERVATIONS,
                [
                    {
                        "id": reservation.id,
                        "status": ReservationStatus.RESERVED.value,
                        "expires_at": reservation.expires_at,
                        "created_at": reservation.created_at or now,
                        "updated_at": reservation.created_at or now,
                    }
                    for reservation in new
                ],
            )
        except IntegrityError as exc:
            # A concurrent reserve with one of these ids committed first: a retry finds it.
            raise RetryableConflict("reservation id taken concurrently") from exc
        await self._conn.execute(
            _INSERT_LINES,
            [
                {
                    "reservation_id": reservation.id,
                    "product_id": line.product_id,
                    "product_name": line.product_name,
                    "unit_price": line.unit_price,
                    "quantity": line.quantity,
                }
                for reservation in new
                for line in reservation.lines
            ],
        )

    async def get_many(
        self, reservation_ids: Collection[str], *, lock: bool = False
    ) -> dict[str, Reservation]:
        if not reservation_ids:
            return {}
        ids = sorted(set(reservation_ids))
        rows = list(await self._conn.execute(_BY_IDS_LOCKED if lock else _BY_IDS, {"ids": ids}))
        if not rows:
            return {}
        lines: dict[str, list[ReservedLine]] = defaultdict(list)
        for line in await self._conn.execute(_LINES_OF, {"ids": [row.id for row in rows]}):
            lines[line.reservation_id].append(_line(line))
        return {
            row.id: Reservation(
                id=row.id,
                status=ReservationStatus(row.status),
                lines=tuple(lines[row.id]),
                expires_at=row.expires_at,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in rows
        }

    async def transition(
        self, reservation_id: str, source: ReservationStatus, target: ReservationStatus
    ) -> bool:
        params = {
            "reservation_id": reservation_id,
            "source": source.value,
            "target": target.value,
            "now": utcnow(),
        }
        return (await self._conn.execute(_TRANSITION, params)).rowcount == 1

    async def due(self, *, before: datetime, limit: int) -> list[str]:
        rows = await self._conn.execute(_DUE, {"before": before, "limit": limit})
        return [row.id for row in rows]

    async def units(self) -> dict[int, tuple[int, int]]:
        found: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for row in await self._conn.execute(_UNITS):
            found[row.product_id][row.status == ReservationStatus.SOLD.value] += int(row.units)
        return {product_id: (reserved, sold) for product_id, (reserved, sold) in found.items()}
