"""Orders and their lines over one AsyncConnection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.rows import cents
from cloudmall.adapters.db.tables import (
    order_lines,
    orders,
    utcnow,
)
from cloudmall.domain.delivery import Address, Shipment
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.services.ports import (
    NewOrder,
)

# Statements on the order path are built once: SQLAlchemy then reuses their compiled form
# without rebuilding the expression or its cache key on every request.
# PostgreSQL, SQLite and MariaDB; MySQL has no RETURNING: one INSERT per order there).
_INSERT_ORDERS_RETURNING = orders.insert().returning(orders.c.id, sort_by_parameter_order=True)
_INSERT_ORDER = orders.insert()
_INSERT_LINES = order_lines.insert()
_ORDER_BY_ID = select(orders).where(orders.c.id == bindparam("order_id"))
_LINES_OF_ORDERS = (
    select(order_lines)
    .where(order_lines.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(order_lines.c.order_id, order_lines.c.product_id)
)
_TRANSITION = (
    update(orders)
    .where(orders.c.id == bindparam("order_id"), orders.c.status == bindparam("source"))
    .values(status=bindparam("target"), updated_at=bindparam("now"))
)


_ADDRESS_COLUMNS = (
    "ship_recipient",
    "ship_phone",
    "ship_postal_code",
    "ship_address1",
    "ship_address2",
)


def _address(row: Row[Any]) -> Address | None:
    if row.ship_recipient is None:
        return None
    return Address(
        recipient=row.ship_recipient,
        phone=row.ship_phone,
        postal_code=row.ship_postal_code,
        address1=row.ship_address1,
        address2=row.ship_address2 or "",
    )


def _address_columns(address: Address | None) -> dict[str, str | None]:
    """The order's address columns; all null while its address is pending."""
    if address is None:
        return dict.fromkeys(_ADDRESS_COLUMNS)
    return {
        "ship_recipient": address.recipient,
        "ship_phone": address.phone,
        "ship_postal_code": address.postal_code,
        "ship_address1": address.address1,
        "ship_address2": address.address2,
    }


class SqlOrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _with_lines(self, rows: list[Row[Any]]) -> list[Order]:
        if not rows:
            return []
        line_rows = await self._conn.execute(_LINES_OF_ORDERS, {"ids": [row.id for row in rows]})
        lines: dict[int, list[OrderLine]] = defaultdict(list)
        for line in line_rows:
            lines[line.order_id].append(
                OrderLine(
                    product_id=line.product_id,
                    product_name=line.product_name,
                    quantity=line.quantity,
                    unit_price=cents(line.unit_price),
                )
            )
        return [
            Order(
                id=row.id,
                user_id=row.user_id,
                status=OrderStatus(row.status),
                total_amount=cents(row.total_amount),
                lines=tuple(lines[row.id]),
                created_at=row.created_at,
                updated_at=row.updated_at,
                subtotal=None if row.subtotal is None else cents(row.subtotal),
                delivery_fee=cents(row.delivery_fee),
                address=_address(row),
                shipment=(
                    Shipment(row.carrier, row.tracking_number) if row.carrier is not None else None
                ),
                reservation_id=row.reservation_id,
            )
            for row in rows
        ]

    async def _insert_orders(self, rows: list[dict[str, Any]]) -> list[int]:
        if self._conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            return list((await self._conn.execute(_INSERT_ORDERS_RETURNING, rows)).scalars())
        ids = []
        for row in rows:
            result = await self._conn.execute(_INSERT_ORDER, row)
            ids.append(int(result.inserted_primary_key[0]))  # type: ignore[index]
        return ids

    async def add_many(self, new: Sequence[NewOrder]) -> list[Order]:
        now = utcnow()
        status = OrderStatus.PENDING
        ids = await self._insert_orders(
            [
                {
                    "user_id": order.user_id,
                    "total_amount": order.total,
                    "status": status.value,
                    "created_at": now,
                    "updated_at": now,
                    "subtotal": order.subtotal,
                    "delivery_fee": order.delivery_fee,
                    "reservation_id": order.reservation_id,
                    **_address_columns(order.address),
                }
                for order in new
            ]
        )
        await self._conn.execute(
            _INSERT_LINES,
            [
                {
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "product_name": line.product_name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for order_id, order in zip(ids, new, strict=True)
                for line in order.lines
            ],
        )
        return [
            Order(
                id=order_id,
                user_id=order.user_id,
                status=status,
                total_amount=order.total,
                lines=order.lines,
                created_at=now,
                updated_at=now,
                subtotal=order.subtotal,
                delivery_fee=order.delivery_fee,
                address=order.address,
                reservation_id=order.reservation_id,
            )
            for order_id, order in zip(ids, new, strict=True)
        ]

    async def get(self, order_id: int) -> Order | None:
        rows = list(await self._conn.execute(_ORDER_BY_ID, {"order_id": order_id}))
        found = await self._with_lines(rows)
        return found[0] if found else None

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> list[Order]:
        rows = await self._conn.execute(
            select(orders)
            .where(orders.c.user_id == user_id)
            .order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self._with_lines(list(rows))

    async def list_all(self, *, status: OrderStatus | None, limit: int, offset: int) -> list[Order]:
        statement = select(orders)
        if status is not None:
            statement = statement.where(orders.c.status == status.value)
        rows = await self._conn.execute(
            statement.order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self._with_lines(list(rows))

    async def transition(self, order_id: int, source: OrderStatus, target: OrderStatus) -> bool:
        params = {
            "order_id": order_id,
            "source": source.value,
            "target": target.value,
            "now": utcnow(),
        }
        return (await self._conn.execute(_TRANSITION, params)).rowcount == 1

    async def placed_since(self, since: datetime) -> tuple[int, Decimal]:
        row = (
            await self._conn.execute(
                select(func.count(), func.coalesce(func.sum(orders.c.total_amount), 0)).where(
                    and_(
                        orders.c.created_at >= since,
                        orders.c.status != OrderStatus.CANCELLED.value,
                    )
                )
            )
        ).one()
        return int(row[0]), cents(row[1])

    async def count_with_status(self, status: OrderStatus) -> int:
        statement = select(func.count()).where(orders.c.status == status.value)
        return int((await self._conn.execute(statement)).scalar_one())

    async def set_address(self, order_id: int, address: Address) -> None:
        await self._conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(**_address_columns(address), updated_at=utcnow())
        )

    async def set_shipment(self, order_id: int, shipment: Shipment) -> None:
        await self._conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(carrier=shipment.carrier, tracking_number=shipment.tracking_number)
        )
