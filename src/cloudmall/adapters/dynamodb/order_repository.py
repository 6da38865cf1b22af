"""Orders as items, their lines inside (one item per order: one write in a transaction), listed
through the indexes: a user's (GSI1), by status (GSI2), all (GSI3), each newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    ORDERS,
    moment,
    money,
    order_key,
    sortable_id,
    status_partition,
    timestamp,
    user_orders_partition,
)
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.services.ports import NewOrder, RetryableConflict


def _order(item: dict[str, Any]) -> Order:
    return Order(
        id=int(item["id"]),
        user_id=int(item["user_id"]),
        status=OrderStatus(item["status"]),
        total_amount=money(item["total"]),
        lines=tuple(
            OrderLine(
                product_id=int(line["product_id"]),
                product_name=line["product_name"],
                quantity=int(line["quantity"]),
                unit_price=money(line["unit_price"]),
            )
            for line in item["lines"]
        ),
        created_at=moment(item["created_at"]),
        updated_at=moment(item["updated_at"]),
    )


def _newest_first(created_at: str, order_id: int) -> str:
    return f"{created_at}#{sortable_id(order_id)}"


def _refused() -> Exception:
    return RetryableConflict("the order changed meanwhile")


class DynamoOrderRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def add_many(self, new: Sequence[NewOrder]) -> list[Order]:
        first = await self._tx.next_ids("order", len(new))
        now = timestamp(datetime.now(UTC))
        status = OrderStatus.PENDING.value
        added = []
        for order_id, order in enumerate(new, start=first):
            key, sort = order_key(order_id), _newest_first(now, order_id)
            item = {
                "PK": key[0],
                "SK": key[1],
                "GSI1PK": user_orders_partition(order.user_id),
                "GSI1SK": sort,
                "GSI2PK": status_partition(status),
                "GSI2SK": sort,
                "GSI3PK": ORDERS,
                "GSI3SK": sort,
                "id": order_id,
                "user_id": order.user_id,
                "status": status,
                "total": order.total,
                "lines": [
                    {
                        "product_id": line.product_id,
                        "product_name": line.product_name,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                    }
                    for line in order.lines
                ],
                "created_at": now,
                "updated_at": now,
            }
            self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_refused)
            added.append(_order(item))
        return added

    async def get(self, order_id: int) -> Order | None:
        item = await self._tx.get(order_key(order_id))
        return _order(item) if item else None

    async def _page(self, partition: str, index: str, limit: int, offset: int) -> list[Order]:
        items = await self._tx.query(
            partition, index=index, newest_first=True, limit=offset + limit
        )
        return [_order(item) for item in items[offset:]]

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> list[Order]:
        return await self._page(user_orders_partition(user_id), "GSI1", limit, offset)

    async def list_all(self, *, status: OrderStatus | None, limit: int, offset: int) -> list[Order]:
        if status is not None:
            return await self._page(status_partition(status.value), "GSI2", limit, offset)
        return await self._page(ORDERS, "GSI3", limit, offset)

    async def transition(self, order_id: int, source: OrderStatus, target: OrderStatus) -> bool:
        before = await self._tx.get(order_key(order_id))
        if before is None or before["status"] != source.value:
            return False
        changed = {
            "status": target.value,
            "updated_at": timestamp(datetime.now(UTC)),
            "GSI2PK": status_partition(target.value),
        }
        self._tx.update(
            order_key(order_id),
            set_=changed,
            condition="#status = :source",
            values={":source": source.value},
            after={**before, **changed},
            refused=_refused,
        )
        return True

    async def placed_since(self, since: datetime) -> tuple[int, Decimal]:
        items = await self._tx.query(ORDERS, index="GSI3", since=timestamp(since))
        placed = [item for item in items if item["status"] != OrderStatus.CANCELLED.value]
        return len(placed), money(sum((Decimal(item["total"]) for item in placed), Decimal(0)))
