"""The shop's books read straight from its database, past the adapters: SQL by SQL, a DynamoDB
table by a Scan of its items (a test's read, never the shop's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import boto3
from boto3.dynamodb.types import TypeDeserializer
from sqlalchemy import Engine, text

from cloudmall.adapters.dynamodb.client import TableAddress, is_dynamodb
from tests.reliability.conftest import LIVE, database, stock_ledger
from tests.support import S3_ENV, LiveServer


class Books(Protocol):
    def stock(self, product_ids: list[int]) -> dict[int, tuple[int, int]]:
        """For each product: (stock now, units in live orders)."""
        ...

    def payments(self, order_id: int) -> int: ...
    def standing_payments(self, order_ids: list[int]) -> int:
        """The payments of these orders that hold the customer's money (pending, charged,
        captured): every other charge was given back or never made."""
        ...

    def statuses(self, order_ids: list[int]) -> Counter[str]: ...
    def check_payments_match_statuses(self, product_ids: list[int]) -> None:
        """Paid/shipped/delivered orders have one captured payment; pending and cancelled none."""
        ...


#: A payment's statuses while it holds the customer's money.
STANDING = ("pending", "charged", "captured")


def _expected_payments(status: str) -> int:
    return 1 if status in ("paid", "shipped", "delivered") else 0


class SqlBooks:
    """The products, orders and payments tables, each in its context's database (one and the
    same in the monolith)."""

    def __init__(self, products: Engine, orders: Engine, payments: Engine) -> None:
        self.products = products
        self.orders = orders
        self.payments_db = payments

    def stock(self, product_ids: list[int]) -> dict[int, tuple[int, int]]:
        return stock_ledger(self.products, product_ids, self.orders)

    def payments(self, order_id: int) -> int:
        with self.payments_db.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT COUNT(*) FROM payments WHERE order_id = :id"), {"id": order_id}
                ).scalar_one()
            )

    def standing_payments(self, order_ids: list[int]) -> int:
        ids = ",".join(str(int(order_id)) for order_id in order_ids)
        with self.payments_db.connect() as conn:
            return int(
                conn.execute(
                    text(
                        f"SELECT COUNT(*) FROM payments WHERE order_id IN ({ids})"  # noqa: S608
                        f" AND status IN {STANDING}"
                    )
                ).scalar_one()
            )

    def statuses(self, order_ids: list[int]) -> Counter[str]:
        ids = ",".join(str(int(order_id)) for order_id in order_ids)
        with self.orders.connect() as conn:
            return Counter(
                status
                for (status,) in conn.execute(
                    text(f"SELECT status FROM orders WHERE id IN ({ids})")  # noqa: S608
                )
            )

    def check_payments_match_statuses(self, product_ids: list[int]) -> None:
        ids = ",".join(str(int(pid)) for pid in product_ids)
        with self.orders.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT o.id, o.status FROM orders o WHERE o.id IN "  # noqa: S608
                    f"(SELECT order_id FROM order_lines WHERE product_id IN ({ids}))"
                )
            ).all()
        if not rows:
            return
        order_ids = ",".join(str(int(order_id)) for order_id, _ in rows)
        with self.payments_db.connect() as conn:
            captured = Counter(
                int(order_id)
                for (order_id,) in conn.execute(
                    text(
                        "SELECT order_id FROM payments WHERE status = 'captured' "  # noqa: S608
                        f"AND order_id IN ({order_ids})"
                    )
                )
            )
        for order_id, status in rows:
            assert captured[order_id] == _expected_payments(status), (
                order_id,
                status,
                captured[order_id],
            )


class DynamoBooks:
    """Each question scans the whole table once (consistent reads)."""

    def __init__(self, database_url: str) -> None:
        address = TableAddress.parse(database_url)
        self.table = address.table
        self.client = boto3.client(
            "dynamodb",
            region_name=address.region,
            endpoint_url=address.endpoint_url,
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def _items(self) -> list[dict[str, Any]]:
        deserialize = TypeDeserializer().deserialize
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(
            TableName=self.table, ConsistentRead=True
        ):
            items += [{k: deserialize(v) for k, v in raw.items()} for raw in page["Items"]]
        return items

    def _orders(self) -> list[dict[str, Any]]:
        return [i for i in self._items() if i["SK"] == "ORDER"]

    def stock(self, product_ids: list[int]) -> dict[int, tuple[int, int]]:
        items = self._items()
        stock = {int(i["id"]): int(i["stock"]) for i in items if i["SK"] == "PRODUCT"}
        sold: Counter[int] = Counter()
        for order in (i for i in items if i["SK"] == "ORDER" and i["status"] in LIVE):
            for line in order["lines"]:
                sold[int(line["product_id"])] += int(line["quantity"])
        return {pid: (stock[pid], sold[pid]) for pid in product_ids}

    def payments(self, order_id: int) -> int:
        return sum(
            1 for i in self._items() if i["PK"] == f"ORDER#{order_id}" and i["SK"] != "ORDER"
        )

    def standing_payments(self, order_ids: list[int]) -> int:
        keys = {f"ORDER#{order_id}" for order_id in order_ids}
        return sum(
            1
            for i in self._items()
            if i["PK"] in keys and i["SK"] != "ORDER" and i.get("status") in STANDING
        )

    def statuses(self, order_ids: list[int]) -> Counter[str]:
        return Counter(o["status"] for o in self._orders() if int(o["id"]) in order_ids)

    def check_payments_match_statuses(self, product_ids: list[int]) -> None:
        items = self._items()
        captured = Counter(
            int(i["order_id"])
            for i in items
            if i["SK"].startswith("PAYMENT#") and i["status"] == "captured"
        )
        for order in (i for i in items if i["SK"] == "ORDER"):
            if any(int(line["product_id"]) in product_ids for line in order["lines"]):
                order_id = int(order["id"])
                expected = _expected_payments(order["status"])
                assert captured[order_id] == expected, (order_id, order["status"], captured)


@contextmanager
def books(server: LiveServer) -> Iterator[Books]:
    """The books of the shop `server` answers for: its database, or each service's own."""
    database_url = server.database_url("products")
    if is_dynamodb(database_url):
        yield DynamoBooks(database_url)
        return
    with (
        database(database_url) as products,
        database(server.database_url("orders")) as orders,
        database(server.database_url("payments")) as payments,
    ):
        yield SqlBooks(products, orders, payments)
