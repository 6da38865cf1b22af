"""Orders as items, their lines inside (one item per order: one write in a transaction), listed
through the indexes: a user's (GSI1), by status (GSI2), all (GSI3), each newest first.

One unit of work may change an order more than once (a shipment and its move to shipped): the
changes go as one write, with every condition they carry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
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
from cloudmall.domain.delivery import Address, Shipment
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.services.ports import NewOrder, RetryableConflict

_ADDRESS_FIELDS = ("recipient", "phone", "postal_code", "address1", "address2")


def _address(value: dict[str, Any] | None) -> Address | None:
    return Address(**{field: value[field] for field in _ADDRESS_FIELDS}) if value else None


def _address_value(address: Address | None) -> dict[str, str] | None:
    return {field: getattr(address, field) for field in _ADDRESS_FIELDS} if address else None


def _order(item: dict[str, Any]) -> Order:
    subtotal, shipment = item.get("subtotal"), item.get("shipment")
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
        subtotal=None if subtotal is None else money(subtotal),
        delivery_fee=money(item.get("delivery_fee", 0)),
        address=_address(item.get("address")),
        shipment=Shipment(shipment["carrier"], shipment["tracking_number"]) if shipment else None,
        reservation_id=item.get("reservation_id"),
    )


def order_index_keys(order_id: int, user_id: int, status: str, created_at: str) -> dict[str, str]:
    """An order in its user's list (GSI1), its status's (GSI2) and all orders (GSI3)."""
    newest_first = f"{created_at}#{sortable_id(order_id)}"
    return {
        "GSI1PK": user_orders_partition(user_id),
        "GSI1SK": newest_first,
        "GSI2PK": status_partition(status),
        "GSI2SK": newest_first,
        "GSI3PK": ORDERS,
        "GSI3SK": newest_first,
    }


def _refused() -> Exception:
    return RetryableConflict("the order changed meanwhile")


class DynamoOrderRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx
        # Orders this unit of work changes: their SET values, conditions and condition values.
        self._changes: dict[int, tuple[dict[str, Any], list[str], dict[str, Any]]] = {}

    async def add_many(self, new: Sequence[NewOrder]) -> list[Order]:
        first = await self._tx.next_ids("order", len(new))
        # Lines have ids of their own, as SQL's rows do (a backup restores them either way).
        line_ids = count(await self._tx.next_ids("order_line", sum(len(o.lines) for o in new)))
        now = timestamp(datetime.now(UTC))
        status = OrderStatus.PENDING.value
        added = []
        for order_id, order in enumerate(new, start=first):
            key = order_key(order_id)
            item = {
                "PK": key[0],
                "SK": key[1],
                **order_index_keys(order_id, order.user_id, status, now),
                "id": order_id,
                "user_id": order.user_id,
                "status": status,
                "total": order.total,
                "subtotal": order.subtotal,
                "delivery_fee": order.delivery_fee,
                "address": _address_value(order.address),
                "reservation_id": order.reservation_id,
                "lines": [
                    {
                        "id": next(line_ids),
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
            added.append(_order({k: v for k, v in item.items() if v is not None}))
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

    async def _change(
        self, order_id: int, changed: dict[str, Any], *, status: str | None = None
    ) -> bool:
        """SET `changed` on the order, if it exists (and its status is still `status`), in one
        write with this unit of work's earlier changes of it."""
        key = order_key(order_id)
        current = await self._tx.get(key)
        if current is None or (status is not None and current["status"] != status):
            return False
        changed = {**changed, "updated_at": timestamp(datetime.now(UTC))}
        if self._tx.writes_to(key) and order_id not in self._changes:  # added by this one
            self._tx.put({**current, **changed}, again=True, refused=_refused)
            return True
        set_, conditions, values = self._changes.get(order_id, ({}, ["attribute_exists(#PK)"], {}))
        if status is not None:
            name = f":status{len(values)}"
            conditions, values = [*conditions, f"#status = {name}"], {**values, name: status}
        set_ = {**set_, **changed}
        self._changes[order_id] = (set_, conditions, values)
        self._tx.unwrite(key, current)
        self._tx.update(
            key,
            set_=set_,
            condition=" AND ".join(conditions),
            values=values,
            after={**current, **changed},
            refused=_refused,
        )
        return True

    async def transition(self, order_id: int, source: OrderStatus, target: OrderStatus) -> bool:
        moved = {"status": target.value, "GSI2PK": status_partition(target.value)}
        return await self._change(order_id, moved, status=source.value)

    async def count_with_status(self, status: OrderStatus) -> int:
        partition = status_partition(status.value)
        return len(await self._tx.query(partition, index="GSI2", count=True))

    async def set_address(self, order_id: int, address: Address) -> None:
        # On the status read: an order shipped meanwhile keeps the address it was sent to.
        current = await self._tx.get(order_key(order_id))
        if current is not None:
            value = {"address": _address_value(address)}
            if not await self._change(order_id, value, status=current["status"]):
                raise _refused()

    async def set_shipment(self, order_id: int, shipment: Shipment) -> None:
        value = {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}
        await self._change(order_id, {"shipment": value})

    async def placed_since(self, since: datetime) -> tuple[int, Decimal]:
        items = await self._tx.query(ORDERS, index="GSI3", since=timestamp(since))
        placed = [item for item in items if item["status"] != OrderStatus.CANCELLED.value]
        return len(placed), money(sum((Decimal(item["total"]) for item in placed), Decimal(0)))
