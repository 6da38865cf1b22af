"""DynamoDB takes at most 100 items in one TransactWriteItems: the order limits keep every unit
of work of the shop within it. Counted on the real unit of work over an in-memory table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cloudmall.adapters.dynamodb.table import product_key, to_item
from cloudmall.adapters.dynamodb.transaction import MAX_ITEMS, MAX_ORDERS_PER_TRANSACTION
from cloudmall.adapters.dynamodb.unit_of_work import DynamoUnitOfWorkFactory
from cloudmall.domain.orders import MAX_LINE_QUANTITY, MAX_LINES
from cloudmall.domain.users import Role
from cloudmall.services import cancellation, orders
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.order_desk import MAX_GROUP
from cloudmall.services.ports import Principal
from tests.unit.contexts import payment_desk, stock_desk
from tests.unit.fakes import FakeCache, FakeGateway, FakeMetrics

pytestmark = pytest.mark.anyio


class InMemoryTable:
    """The calls the order path makes, on a dict: reads, counters, and each transaction's items
    kept (puts applied; an update's expression is not evaluated, so its item stays as read)."""

    table = "shop"

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.counters: dict[str, int] = {}
        self.transactions: list[list[dict[str, Any]]] = []

    def add(self, item: dict[str, Any]) -> None:
        self.items[(item["PK"], item["SK"])] = to_item(item)

    def _found(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get((key["PK"]["S"], key["SK"]["S"]))

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        if operation == "get_item":
            found = self._found(kwargs["Key"])
            return {"Item": found} if found else {}
        if operation == "batch_get_item":
            keys = kwargs["RequestItems"][self.table]["Keys"]
            return {"Responses": {self.table: [i for k in keys if (i := self._found(k))]}}
        if operation == "update_item":  # an id counter
            kind = kwargs["Key"]["SK"]["S"]
            self.counters[kind] = self.counters.get(kind, 0) + int(
                kwargs["ExpressionAttributeValues"][":n"]["N"]
            )
            return {"Attributes": {"value": {"N": str(self.counters[kind])}}}
        assert operation == "transact_write_items"
        self.transactions.append(kwargs["TransactItems"])
        for write in kwargs["TransactItems"]:
            if "Put" in write:
                item = write["Put"]["Item"]
                self.items[(item["PK"]["S"], item["SK"]["S"])] = item
        return {}


def shop_with_products(count: int) -> tuple[InMemoryTable, DynamoUnitOfWorkFactory]:
    table = InMemoryTable()
    for product_id in range(1, count + 1):
        key = product_key(product_id)
        table.add(
            {
                "PK": key[0],
                "SK": key[1],
                "id": product_id,
                "name": f"P{product_id}",
                "price": Decimal("1.00"),
                "description": "",
                "category": "general",
                "stock": 10 * MAX_LINE_QUANTITY,
                "active": True,
                "created_at": "2026-01-01T00:00:00.000000+00:00",
                "updated_at": "2026-01-01T00:00:00.000000+00:00",
            }
        )
    return table, DynamoUnitOfWorkFactory(table)  # type: ignore[arg-type]


async def test_the_largest_order_and_its_cancel_each_fit_one_transaction() -> None:
    table, uow = shop_with_products(MAX_LINES)
    cache = CatalogCache(FakeCache(), ttl_seconds=60, metrics=FakeMetrics())
    principal = Principal(1, Role.CUSTOMER)
    placer = orders.OrderPerTransaction(
        uow=uow, stock=stock_desk(uow, cache), metrics=FakeMetrics(), limits=orders.OrderLimits()
    )
    placed = await placer.place(
        principal=principal,
        items=[(pid, MAX_LINE_QUANTITY) for pid in range(1, MAX_LINES + 1)],
        client_total=None,
        idempotency_key="biggest",
    )
    # The products context: the reservation (its lines inside), a stock decrement per line,
    # the outbox; then the orders context: the order (its lines inside), its reservation's
    # lookup item, the key's answer, the outbox.
    reserve, record = table.transactions[-2:]
    assert len(reserve) == MAX_LINES + 2 <= MAX_ITEMS
    assert len(record) == 4
    await cancellation.cancel_order(
        uow=uow,
        stock=stock_desk(uow, cache),
        payment_desk=payment_desk(uow, FakeGateway(), FakeMetrics()),
        principal=principal,
        order_id=placed.order.id,
    )
    # The orders context: the order's move, the outbox; then the products context: the
    # reservation's release, the stock back per line, the outbox.
    cancel, release = table.transactions[-2:]
    assert len(cancel) == 2
    assert len(release) == MAX_LINES + 2 <= MAX_ITEMS


def test_a_group_of_orders_fits_one_transaction() -> None:
    # Each order of a group is one order item, its reservation's lookup item and at most one
    # key; the group one outbox record.
    per_group = 3 * MAX_ORDERS_PER_TRANSACTION + 1
    assert per_group <= MAX_ITEMS
    # A SQL desk's group (MAX_GROUP) would not fit: DynamoDB's desk takes fewer.
    assert 2 * MAX_GROUP + 1 > MAX_ITEMS
