"""The table's items as the SQL schema's rows, and rows as items: what backup and restore see.

A backup is the same on every backend: one row per SQL table row (`adapters/db/tables.py`).
Several rows live in one item here (an order's lines inside the order, a reservation's inside
the reservation, a transaction's events in one outbox record, a claim batch's claims in one batch
item) and some items only serve lookups (an email's owner, a category id's slug, a session entry,
a token family, the id counters): they are derived from the rows on a restore, and left out of a
backup.

Rows here are dicts of column → value. Items give numbers as Decimal and times as text; the
caller types them by the SQL columns (`snapshot.py`). Rows to items take typed values (int,
Decimal, bool, aware datetime, str, None).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from cloudmall.adapters.dynamodb.order_repository import order_index_keys
from cloudmall.adapters.dynamodb.payment_repository import payment_index_keys
from cloudmall.adapters.dynamodb.product_repository import on_sale_keys
from cloudmall.adapters.dynamodb.reservation_repository import (
    LINE_COUNTER,
    reservation_index_keys,
)
from cloudmall.adapters.dynamodb.table import (
    ADDRESS,
    CATEGORIES,
    CONSENT,
    MAILS,
    OUTBOX,
    TTL,
    USERS,
    address_key,
    category_id_key,
    category_key,
    consent_key,
    email_key,
    epoch_seconds,
    family_key,
    idempotency_key,
    mail_key,
    order_key,
    order_reservation_key,
    payment_key,
    product_key,
    refresh_token_key,
    reservation_key,
    session_key,
    sortable_id,
    timestamp,
    user_key,
)
from cloudmall.adapters.event_json import decode, encode
from cloudmall.domain.events import Event

Row = dict[str, Any]
Item = dict[str, Any]

#: The id counters (`COUNTER` / kind) of the tables whose ids the shop hands out.
COUNTERS = {
    "users": "user",
    "categories": "category",
    "products": "product",
    "orders": "order",
    "order_lines": "order_line",
    "payments": "payment",
    "addresses": "address",
    "consents": "consent",
    "refresh_tokens": "refresh_token",
    "idempotency_keys": "idempotency",
    "outbox_events": "outbox",
    "outbox_claims": "outbox_claim",
    "stock_reservation_lines": LINE_COUNTER,
}
_SHIP = ("recipient", "phone", "postal_code", "address1", "address2")


class Unrepresentable(ValueError):
    """Rows the table cannot hold as they are (it would not give them back equal)."""


def _suffix(text: str) -> int:
    return int(text.rsplit("#", 1)[1])


def _kind(item: Item) -> str:
    """What an item is: a table's name, or a lookup item's kind."""
    pk, sk = item["PK"], item["SK"]
    if pk == OUTBOX:
        return "outbox_events"
    prefix = pk.split("#", 1)[0]
    if prefix == "USER" and sk != "USER":
        return {ADDRESS: "addresses", CONSENT: "consents"}.get(sk.split("#", 1)[0] + "#", "session")
    if prefix == "ORDER" and sk != "ORDER":
        return "payments"
    if prefix == "OUTBOX":
        return "outbox_claims" if sk.startswith("BATCH#") else "consumer"
    kinds = {
        "PRODUCT": "products",
        "CATEGORY": "categories",
        "USER": "users",
        "ORDER": "orders",
        "REFRESH": "refresh_tokens",
        "IDEM": "idempotency_keys",
        "MAIL": "mail_deliveries",
        "CATEGORYID": "category id",
        "EMAIL": "email",
        "FAMILY": "family",
        "COUNTER": "counter",
        "ORDERRES": "order reservation",
        "RESERVATION": "stock_reservations",
    }
    if prefix not in kinds:
        raise Unrepresentable(f"an item of no known kind in the table: PK {pk!r}, SK {sk!r}")
    return kinds[prefix]


# --- items → rows -------------------------------------------------------------------------------


def rows_of(items: Iterable[Item]) -> dict[str, list[Row]]:
    """The SQL rows the items hold, by table (unsorted)."""
    by_kind: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_kind[_kind(item)].append(item)
    families = {item["PK"].removeprefix("FAMILY#"): item for item in by_kind["family"]}
    rows: dict[str, list[Row]] = defaultdict(list)
    for item in by_kind["products"]:
        rows["products"].append(_product_row(item))
    for item in by_kind["categories"]:
        rows["categories"].append(_pick(item, "id slug name name_en created_at updated_at"))
    for item in by_kind["users"]:
        columns = "id email password_hash name role token_version phone language"
        rows["users"].append(_pick(item, f"{columns} must_change_password created_at updated_at"))
    for item in by_kind["consents"]:
        row = _pick(item, "document version agreed_at")
        rows["consents"].append({**row, "id": _suffix(item["SK"]), "user_id": _suffix(item["PK"])})
    for item in by_kind["addresses"]:
        rows["addresses"].append(_pick(item, f"id user_id {' '.join(_SHIP)} is_default created_at"))
    for item in by_kind["refresh_tokens"]:
        family = families.get(item["family"])
        if family is not None:  # a family cleared away takes its tokens with it (`by_hash`)
            row = _pick(item, "id family user_id token_hash created_at expires_at rotated_at")
            rows["refresh_tokens"].append({**row, "revoked_at": family.get("revoked_at")})
    for item in by_kind["orders"]:
        rows["orders"].append(_order_row(item))
        rows["order_lines"].extend({**line, "order_id": item["id"]} for line in item["lines"])
    for item in by_kind["payments"]:
        columns = (
            "id order_id amount status intent_key provider_reference card_last4 created_at"
            " updated_at"
        )
        rows["payments"].append(_pick(item, columns))
    for item in by_kind["idempotency_keys"]:
        columns = "id user_id scope idem_key fingerprint response created_at"
        rows["idempotency_keys"].append(_pick(item, columns))
    for item in by_kind["outbox_events"]:
        rows["outbox_events"].extend(_event_rows(item))
    # A purge deletes records whole but a batch only once none of its events is left: the
    # claims of purged events are gone, as SQL deletes them with the events.
    left = {row["id"] for row in rows["outbox_events"]}
    for item in by_kind["outbox_claims"]:
        consumer, batch = item["PK"].removeprefix("OUTBOX#"), item["SK"].removeprefix("BATCH#")
        rows["outbox_claims"].extend(
            {
                "id": claim,
                "consumer": consumer,
                "outbox_id": position,
                "batch": batch,
                "finished": item["finished"],
            }
            for claim, position in zip(item["claims"], item["positions"], strict=True)
            if position in left
        )
    for item in by_kind["mail_deliveries"]:
        rows["mail_deliveries"].append(_pick(item, "event_id sent attempts updated_at"))
    for item in by_kind["stock_reservations"]:
        columns = "id status expires_at created_at updated_at"
        rows["stock_reservations"].append(_pick(item, columns))
        rows["stock_reservation_lines"].extend(
            {**line, "reservation_id": item["id"]} for line in item["lines"]
        )
    return rows


def _pick(item: Item, columns: str) -> Row:
    return {column: item.get(column) for column in columns.split()}


def _product_row(item: Item) -> Row:
    row = _pick(item, "id name price description image_key category name_en description_en")
    return {
        **row,
        **_pick(item, "list_price created_at updated_at"),
        "stock_quantity": item["stock"],
        "is_active": item["active"],
    }


def _order_row(item: Item) -> Row:
    address = item.get("address") or {}
    shipment = item.get("shipment") or {}
    return {
        **_pick(item, "id user_id status created_at updated_at subtotal delivery_fee"),
        "reservation_id": item.get("reservation_id"),
        "total_amount": item["total"],
        **{f"ship_{field}": address.get(field) for field in _SHIP},
        "carrier": shipment.get("carrier"),
        "tracking_number": shipment.get("tracking_number"),
    }


def _event_rows(record: Item) -> Iterator[Row]:
    first = int(record["first"])
    for offset, text in enumerate(record["events"]):
        event = decode(text)
        yield {
            "id": first + offset,
            "event_id": event.id,
            "event_type": event.type,
            "event_version": event.version,
            "occurred_at": event.occurred_at,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            # As the SQL outbox writes it, so a round trip gives the same text.
            "payload": json.dumps(event.payload, separators=(",", ":"), sort_keys=True),
            "request_id": event.request_id,
            "traceparent": event.traceparent,
        }


# --- rows → items -------------------------------------------------------------------------------


def items_of(rows: Mapping[str, Sequence[Row]]) -> Iterator[Item]:
    """The items that hold `rows` (every table's, typed), lookup items included."""
    if handled := len(rows.get("inbox_events", ())):
        raise Unrepresentable(
            f"the backup holds {handled} events an inbox handled, and a DynamoDB shop keeps no "
            "inbox (its outbox has no broker reader: docs/dynamodb.md)"
        )
    for row in rows.get("users", ()):
        yield from _user_items(row)
    for row in rows.get("categories", ()):
        yield from _category_items(row)
    for row in rows.get("products", ()):
        yield _product_item(row)
    for row in rows.get("consents", ()):
        key = consent_key(row["user_id"], row["id"])
        yield _item(key, {k: row[k] for k in ("document", "version", "agreed_at")})
    for row in rows.get("addresses", ()):
        yield _item(address_key(row["user_id"], row["id"]), row)
    yield from _session_items(rows.get("refresh_tokens", ()))
    yield from _order_items(rows.get("orders", ()), rows.get("order_lines", ()))
    for row in rows.get("payments", ()):
        indexed = payment_index_keys(
            row["order_id"], row["id"], row["status"], timestamp(row["updated_at"])
        )
        yield _item(payment_key(row["order_id"], row["id"]), {**row, **indexed})
    for row in rows.get("idempotency_keys", ()):
        yield _item(idempotency_key(row["user_id"], row["scope"], row["idem_key"]), row)
    for row in rows.get("outbox_events", ()):
        yield _event_record(row)
    yield from _batch_items(rows.get("outbox_claims", ()))
    for row in rows.get("mail_deliveries", ()):
        indexed = {"GSI1PK": MAILS, "GSI1SK": f"{timestamp(row['updated_at'])}#{row['event_id']}"}
        yield _item(mail_key(row["event_id"]), {**row, **indexed, "version": 0})
    yield from _reservation_items(
        rows.get("stock_reservations", ()), rows.get("stock_reservation_lines", ())
    )


def _value(value: Any) -> Any:
    return timestamp(value) if isinstance(value, datetime) else value


def _item(key: tuple[str, str], values: Mapping[str, Any]) -> Item:
    item = {name: _value(value) for name, value in values.items() if value is not None}
    return {"PK": key[0], "SK": key[1], **item}


def _user_items(row: Row) -> Iterator[Item]:
    yield _item(user_key(row["id"]), {**row, "GSI1PK": USERS, "GSI1SK": sortable_id(row["id"])})
    yield _item(email_key(row["email"]), {"user_id": row["id"]})


def _category_items(row: Row) -> Iterator[Item]:
    yield _item(category_key(row["slug"]), {**row, "GSI1PK": CATEGORIES, "GSI1SK": row["slug"]})
    yield _item(category_id_key(row["id"]), {"slug": row["slug"]})


def _product_item(row: Row) -> Item:
    values = {k: v for k, v in row.items() if k not in ("stock_quantity", "is_active")}
    item = _item(
        product_key(row["id"]),
        {**values, "stock": row["stock_quantity"], "active": row["is_active"]},
    )
    return {**item, **on_sale_keys(item)} if row["is_active"] else item


def _session_items(tokens: Sequence[Row]) -> Iterator[Item]:
    """Each token by its hash and in its account's partition; one item per family."""
    families: dict[str, list[Row]] = defaultdict(list)
    for row in tokens:
        families[row["family"]].append(row)
        expires = {TTL: epoch_seconds(row["expires_at"])}
        values = {k: v for k, v in row.items() if k != "revoked_at"}
        yield _item(refresh_token_key(row["token_hash"]), {**values, **expires})
        entry = session_key(row["user_id"], row["expires_at"], row["id"])
        yield _item(entry, {"family": row["family"], "token_hash": row["token_hash"], **expires})
    for family, members in families.items():
        revoked = {row["revoked_at"] for row in members}
        owners = {row["user_id"] for row in members}
        if len(revoked) > 1 or len(owners) > 1:
            raise Unrepresentable(
                f"refresh-token family {family} has tokens of several accounts or revoked at "
                "different times: a DynamoDB family is revoked as a whole"
            )
        yield _item(
            family_key(family),
            {
                "user_id": owners.pop(),
                "tokens": len(members),
                "version": 0,
                "revoked_at": revoked.pop(),
                TTL: max(epoch_seconds(row["expires_at"]) for row in members),
            },
        )


def _order_items(orders: Sequence[Row], lines: Sequence[Row]) -> Iterator[Item]:
    by_order: dict[int, list[Row]] = defaultdict(list)
    for line in sorted(lines, key=lambda line: line["id"]):
        by_order[line["order_id"]].append(line)
    for row in orders:
        address = {field: row[f"ship_{field}"] for field in _SHIP}
        shipped = row["carrier"] is not None or row["tracking_number"] is not None
        values = _pick(row, "id user_id status created_at updated_at subtotal delivery_fee")
        item = _item(
            order_key(row["id"]),
            {
                **values,
                **order_index_keys(
                    row["id"], row["user_id"], row["status"], timestamp(row["created_at"])
                ),
                "total": row["total_amount"],
                "reservation_id": row.get("reservation_id"),
                "address": address if any(v is not None for v in address.values()) else None,
                "shipment": {"carrier": row["carrier"], "tracking_number": row["tracking_number"]}
                if shipped
                else None,
            },
        )
        item["lines"] = [
            {k: v for k, v in line.items() if k != "order_id"} for line in by_order[row["id"]]
        ]
        yield item
        if row.get("reservation_id") is not None:
            yield _item(order_reservation_key(row["reservation_id"]), {"order_id": row["id"]})


def _reservation_items(reservations: Sequence[Row], lines: Sequence[Row]) -> Iterator[Item]:
    by_reservation: dict[str, list[Row]] = defaultdict(list)
    for line in sorted(lines, key=lambda line: line["id"]):
        by_reservation[line["reservation_id"]].append(line)
    for row in reservations:
        indexed = reservation_index_keys(row["id"], row["status"], timestamp(row["expires_at"]))
        item = _item(reservation_key(row["id"]), {**row, **indexed})
        item["lines"] = [
            {k: v for k, v in line.items() if k != "reservation_id"}
            for line in by_reservation[row["id"]]
        ]
        yield item


def _event_record(row: Row) -> Item:
    """One record per event (the SQL outbox has no transactions' groups to keep)."""
    event = Event(
        id=row["event_id"],
        type=row["event_type"],
        version=row["event_version"],
        occurred_at=row["occurred_at"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        payload=json.loads(row["payload"]),
        request_id=row["request_id"],
        traceparent=row.get("traceparent"),  # (a backup made before the column has none)
    )
    return {
        "PK": OUTBOX,
        "SK": sortable_id(row["id"]),
        "first": row["id"],
        "events": [encode(event)],
    }


def _batch_items(claims: Sequence[Row]) -> Iterator[Item]:
    batches: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in sorted(claims, key=lambda row: row["id"]):
        batches[(row["consumer"], row["batch"])].append(row)
    for (consumer, batch), members in batches.items():
        finished = {row["finished"] for row in members}
        if len(finished) > 1:
            raise Unrepresentable(
                f"outbox batch {batch} of {consumer} is finished for some events only: a "
                "DynamoDB batch is finished as a whole"
            )
        yield {
            "PK": f"OUTBOX#{consumer}",
            "SK": f"BATCH#{batch}",
            "positions": [row["outbox_id"] for row in members],
            "claims": [row["id"] for row in members],
            "finished": finished.pop(),
        }
