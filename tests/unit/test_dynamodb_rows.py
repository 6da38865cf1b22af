"""The table's items as SQL rows and back (adapters/dynamodb/rows.py), without a table: every
table's row comes back equal, and what the table cannot hold is refused, never bent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cloudmall.adapters.db.snapshot import table_specs
from cloudmall.adapters.dynamodb.rows import Unrepresentable, items_of, rows_of
from cloudmall.adapters.dynamodb.snapshot import DynamoSnapshot
from cloudmall.adapters.dynamodb.table import from_item, to_item

pytestmark = pytest.mark.anyio

AT = datetime(2026, 12, 2, 8, 1, 2, 345678, tzinfo=UTC)
PAYLOAD = '{"lines":[{"q":2}],"order_id":7,"total":"7000.00"}'  # as the SQL outbox writes it


def _rows() -> dict[str, list[dict[str, Any]]]:
    """One row of every table, with every nullable column set, and a second order without."""
    later = AT + timedelta(days=30)
    return {
        "users": [
            {"id": 3, "email": "a@b.test", "password_hash": "h", "name": "김", "role": "admin",
             "token_version": 2, "phone": "010", "language": "en", "must_change_password": True,
             "created_at": AT, "updated_at": AT},
        ],
        "categories": [
            {"id": 4, "slug": "books", "name": "책", "name_en": "Books", "created_at": AT,
             "updated_at": AT},
        ],
        "products": [
            {"id": 5, "name": "P", "price": Decimal("12.50"), "description": "d",
             "image_key": "images/x.png", "stock_quantity": 9, "category": "books",
             "name_en": "P en", "description_en": "d en", "list_price": Decimal("20.00"),
             "is_active": True, "created_at": AT, "updated_at": AT},
            {"id": 6, "name": "Q", "price": Decimal("1.00"), "description": "", "image_key": None,
             "stock_quantity": 0, "category": "books", "name_en": None, "description_en": None,
             "list_price": None, "is_active": False, "created_at": AT, "updated_at": AT},
        ],
        "orders": [
            {"id": 7, "user_id": 3, "total_amount": Decimal("28.00"), "status": "shipped",
             "created_at": AT, "updated_at": AT, "subtotal": Decimal("25.00"),
             "delivery_fee": Decimal("3.00"), "ship_recipient": "김", "ship_phone": "010",
             "ship_postal_code": "06236", "ship_address1": "서울", "ship_address2": "",
             "carrier": "cj", "tracking_number": "123", "reservation_id": "order-7"},
            {"id": 8, "user_id": 3, "total_amount": Decimal("1.00"), "status": "pending",
             "created_at": AT, "updated_at": AT, "subtotal": None, "delivery_fee": Decimal(0),
             "ship_recipient": None, "ship_phone": None, "ship_postal_code": None,
             "ship_address1": None, "ship_address2": None, "carrier": None,
             "tracking_number": None, "reservation_id": None},
        ],
        "order_lines": [
            {"id": 11, "order_id": 7, "product_id": 5, "product_name": "P", "quantity": 2,
             "unit_price": Decimal("12.50")},
            {"id": 12, "order_id": 8, "product_id": 6, "product_name": "Q", "quantity": 1,
             "unit_price": Decimal("1.00")},
        ],
        "payments": [
            {"id": 13, "order_id": 7, "amount": Decimal("28.00"), "status": "refunded",
             "intent_key": "sim_1", "provider_reference": "sim_1", "card_last4": "4242",
             "created_at": AT, "updated_at": AT},
        ],
        "addresses": [
            {"id": 14, "user_id": 3, "recipient": "김", "phone": "010", "postal_code": "06236",
             "address1": "서울", "address2": "", "is_default": True, "created_at": AT},
        ],
        "consents": [
            {"id": 15, "user_id": 3, "document": "privacy", "version": "v1", "agreed_at": AT},
        ],
        "refresh_tokens": [
            {"id": 16, "family": "f1", "user_id": 3, "token_hash": "a" * 64, "created_at": AT,
             "expires_at": later, "rotated_at": AT, "revoked_at": AT},
            {"id": 17, "family": "f1", "user_id": 3, "token_hash": "b" * 64, "created_at": AT,
             "expires_at": later, "rotated_at": None, "revoked_at": AT},
        ],
        "idempotency_keys": [
            {"id": 18, "user_id": 3, "scope": "pay#7", "idem_key": "k#1", "fingerprint": "f",
             "response": "", "created_at": AT},
        ],
        "outbox_events": [
            {"id": 19, "event_id": "e-19", "event_type": "order.placed", "event_version": 1,
             "occurred_at": AT, "aggregate_type": "order", "aggregate_id": "7",
             "payload": PAYLOAD, "request_id": "r-19",
             "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        ],
        "outbox_claims": [
            {"id": 20, "consumer": "lake", "outbox_id": 19, "batch": "b1", "finished": True},
        ],
        "mail_deliveries": [
            {"event_id": "e-19", "sent": False, "attempts": 2, "updated_at": AT},
        ],
        "inbox_events": [],  # a table keeps no inbox (docs/dynamodb.md)
        "stock_reservations": [
            {"id": "3:key#1", "status": "released", "expires_at": AT, "created_at": AT,
             "updated_at": later},
            {"id": "order-7", "status": "sold", "expires_at": later, "created_at": AT,
             "updated_at": AT},
        ],
        "stock_reservation_lines": [
            {"id": 21, "reservation_id": "order-7", "product_id": 5, "product_name": "P",
             "unit_price": Decimal("12.50"), "quantity": 2},
            {"id": 22, "reservation_id": "order-7", "product_id": 6, "product_name": "Q",
             "unit_price": Decimal("1.00"), "quantity": 1},
            {"id": 23, "reservation_id": "3:key#1", "product_id": 5, "product_name": "P",
             "unit_price": Decimal("12.50"), "quantity": 4},
        ],
    }  # fmt: skip


async def _round_trip(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[object, ...]]]:
    """Rows → items → DynamoDB's attribute encoding and back → rows, as a backup reads them."""
    stored = [from_item(to_item(item)) for item in items_of(rows)]
    snapshot = DynamoSnapshot(rows_of(stored), "head")
    found = {}
    for spec in table_specs():
        found[spec.name] = [row async for batch in snapshot.batches(spec, 100) for row in batch]
    return found


async def test_every_tables_rows_come_back_equal() -> None:
    rows = _rows()
    assert set(rows) == {spec.name for spec in table_specs()}
    found = await _round_trip(rows)
    for spec in table_specs():
        assert found[spec.name] == [tuple(row[c] for c in spec.columns) for row in rows[spec.name]]


async def test_lookup_items_are_derived_and_left_out_of_rows() -> None:
    items = list(items_of(_rows()))
    kinds = {item["PK"].split("#", 1)[0] for item in items}
    assert {"EMAIL", "CATEGORYID", "FAMILY"} <= kinds  # made on a restore
    sessions = [i for i in items if i["PK"] == "USER#3" and i["SK"].startswith("REFRESH#")]
    assert len(sessions) == 2
    reservations = {i["id"]: i for i in items if i["PK"].startswith("RESERVATION#")}
    sold, released = reservations["order-7"], reservations["3:key#1"]
    assert sold["GSI2PK"] == "RESERVATIONS#sold"
    assert sold["GSI2SK"] == f"{sold['expires_at']}#order-7"
    assert "GSI2PK" not in released and "GSI2SK" not in released  # out of the index
    counter = {"PK": "COUNTER", "SK": "order", "value": Decimal(8)}
    assert sum(map(len, rows_of([*items, counter]).values())) == sum(map(len, _rows().values()))


def test_what_a_table_cannot_hold_is_refused() -> None:
    rows = _rows()
    rows["refresh_tokens"][1]["revoked_at"] = None  # one family, revoked for one token only
    with pytest.raises(Unrepresentable, match="revoked as a whole"):
        list(items_of(rows))
    rows = _rows()
    rows["outbox_claims"].append(
        {"id": 21, "consumer": "lake", "outbox_id": 19, "batch": "b1", "finished": False}
    )
    with pytest.raises(Unrepresentable, match="finished as a whole"):
        list(items_of(rows))
    rows = _rows()
    rows["inbox_events"].append(
        {"id": 1, "consumer": "sales", "event_id": "e-19", "handled_at": AT}
    )
    with pytest.raises(Unrepresentable, match="no inbox"):
        list(items_of(rows))
    with pytest.raises(Unrepresentable, match="no known kind"):
        rows_of([{"PK": "SOMETHING#1", "SK": "ELSE"}])


def test_claims_of_purged_events_are_gone_as_on_sql() -> None:
    batch = {"PK": "OUTBOX#lake", "SK": "BATCH#b1", "positions": [Decimal(1), Decimal(19)],
             "claims": [Decimal(1), Decimal(2)], "finished": True}  # fmt: skip
    record = next(i for i in items_of(_rows()) if i["PK"] == "OUTBOX")  # position 19 only
    claims = rows_of([record, batch])["outbox_claims"]
    assert [(claim["id"], claim["outbox_id"]) for claim in claims] == [(2, 19)]
