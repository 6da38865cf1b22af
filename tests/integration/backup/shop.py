"""A shop full of data, inserted fast with bulk SQL (not through the API), for backup tests."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.tables import (
    addresses,
    categories,
    consents,
    idempotency_keys,
    mail_deliveries,
    order_lines,
    orders,
    outbox_claims,
    outbox_events,
    payments,
    products,
    refresh_tokens,
    stock_reservation_lines,
    stock_reservations,
    users,
)
from cloudmall.adapters.security.passwords import Argon2PasswordHasher

CUSTOMER_PASSWORD = "a restored customer's passphrase"
CATEGORY_SLUGS = ["books", "food", "fashion", "전자제품"]
CUSTOMER_EMAIL = "customer-1@cloudmall.test"
CHUNK = 2_000


@dataclass(frozen=True)
class ShopFacts:
    users: int
    products: int
    orders: int
    order_lines: int
    max_ids: dict[str, int]


async def _insert(engine: AsyncEngine, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(table.insert(), list(rows[start : start + CHUNK]))


#: The stock reservation's status for an order's.
RESERVATION_OF_ORDER = {
    "pending": "reserved",
    "paid": "sold",
    "shipped": "sold",
    "delivered": "sold",
    "cancelled": "released",
}


async def fill_shop(
    database_url: str,
    *,
    n_users: int = 200,
    n_products: int = 60,
    n_orders: int = 10_000,
    reservations: bool = True,
) -> ShopFacts:
    """Migrate and fill a shop: users, products (with images and plenty of stock), orders with
    1-3 lines each and their stock reservations (unless `reservations` is false), payments for
    the paid ones and some idempotency records."""
    await upgrade(database_url)
    rng = random.Random(20250304)
    password_hash = await Argon2PasswordHasher().hash(CUSTOMER_PASSWORD)
    start = datetime(2025, 1, 1, tzinfo=UTC)

    def moment(i: int) -> datetime:
        return start + timedelta(seconds=i * 37, microseconds=rng.randrange(1_000_000))

    user_rows = [
        {
            "id": i,
            "email": f"customer-{i}@cloudmall.test",
            "password_hash": password_hash,
            "name": rng.choice(["김철수", "이영희", "Ana O'Neil", "박지성 🛒", "Zoë"]),
            "role": "customer",
            "created_at": moment(i),
            "updated_at": moment(i),
        }
        for i in range(1, n_users + 1)
    ]
    category_rows: list[dict[str, Any]] = [
        {
            "id": i,
            "slug": slug,
            "name": f"{slug} 카테고리",
            "name_en": f"{slug.title()} — “quoted”",
            "created_at": moment(i),
            "updated_at": moment(i),
        }
        for i, slug in enumerate(CATEGORY_SLUGS, start=1)
    ]
    product_rows: list[dict[str, Any]] = [
        {
            "id": i,
            "name": f'상품 {i} — "quoted" \\ back\\slash',
            "price": Decimal(rng.randrange(100, 5_000_000)) / 100,
            "description": "line one\nline two\ttabbed, ünïcødé" if i % 2 else "",
            "image_key": f"images/{i:064x}.png" if i % 3 == 0 else None,
            "stock_quantity": 1_000_000,
            "category": rng.choice(CATEGORY_SLUGS),
            "name_en": f"Product {i}" if i % 2 else None,
            "list_price": Decimal(rng.randrange(5_000_001, 6_000_000)) / 100
            if i % 5 == 0
            else None,
            "is_active": i % 7 != 0,
            "created_at": moment(i),
            "updated_at": moment(i + 1),
        }
        for i in range(1, n_products + 1)
    ]
    prices: dict[int, Decimal] = {row["id"]: row["price"] for row in product_rows}
    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    payment_rows: list[dict[str, Any]] = []
    idem_rows: list[dict[str, Any]] = []
    reservation_rows: list[dict[str, Any]] = []
    reserved_rows: list[dict[str, Any]] = []
    for order_id in range(1, n_orders + 1):
        user_id = rng.randrange(1, n_users + 1)
        chosen = rng.sample(range(1, n_products + 1), rng.randint(1, 3))
        total = Decimal(0)
        first_line = len(line_rows)
        for product_id in sorted(chosen):
            quantity = rng.randint(1, 4)
            total += prices[product_id] * quantity
            line_rows.append(
                {
                    "id": len(line_rows) + 1,
                    "order_id": order_id,
                    "product_id": product_id,
                    "product_name": f"상품 {product_id}",
                    "quantity": quantity,
                    "unit_price": prices[product_id],
                }
            )
        status = rng.choice(["pending", "paid", "shipped", "delivered", "cancelled"])
        placed = moment(order_id)
        order_rows.append(
            {
                "id": order_id,
                "user_id": user_id,
                "total_amount": total,
                "status": status,
                "created_at": placed,
                "updated_at": placed + timedelta(minutes=5),
                "reservation_id": f"order-{order_id}" if reservations else None,
            }
        )
        if reservations:
            reservation_rows.append(
                {
                    "id": f"order-{order_id}",
                    "status": RESERVATION_OF_ORDER[status],
                    "expires_at": placed + timedelta(minutes=30),
                    "created_at": placed,
                    "updated_at": placed + timedelta(minutes=5),
                }
            )
            reserved_rows.extend(
                {
                    "id": line["id"],  # one reservation line per order line
                    "reservation_id": f"order-{order_id}",
                    **{k: line[k] for k in ("product_id", "product_name", "quantity")},
                    "unit_price": line["unit_price"],
                }
                for line in line_rows[first_line:]
            )
        if status in ("paid", "shipped", "delivered"):
            payment_rows.append(
                {
                    "id": len(payment_rows) + 1,
                    "order_id": order_id,
                    "amount": total,
                    "status": "captured",
                    "intent_key": f"sim_{order_id:012d}",
                    "provider_reference": f"sim_{order_id:012d}",
                    "card_last4": "4242",
                    "created_at": placed + timedelta(minutes=1),
                    "updated_at": placed + timedelta(minutes=1),
                }
            )
        if order_id % 50 == 0:
            idem_rows.append(
                {
                    "id": len(idem_rows) + 1,
                    "user_id": user_id,
                    "scope": "order",
                    "idem_key": f"key-{order_id}",
                    "fingerprint": f"{order_id:064x}",
                    "response": json.dumps({"id": order_id, "total_amount": str(total)}),
                    "created_at": placed,
                }
            )
    engine = create_engine(database_url)
    try:
        for table, rows in (
            (users, user_rows),
            (categories, category_rows),
            (products, product_rows),
            (orders, order_rows),
            (order_lines, line_rows),
            (payments, payment_rows),
            (idempotency_keys, idem_rows),
            (stock_reservations, reservation_rows),
            (stock_reservation_lines, reserved_rows),
        ):
            await _insert(engine, table, rows)
        if engine.dialect.name == "postgresql":  # the bulk insert gave explicit ids
            async with engine.begin() as conn:
                for table in (
                    users,
                    categories,
                    products,
                    orders,
                    order_lines,
                    payments,
                    idempotency_keys,
                    stock_reservation_lines,
                ):
                    await conn.execute(
                        select(
                            func.setval(
                                func.pg_get_serial_sequence(table.name, "id"),
                                select(func.max(table.c.id)).scalar_subquery(),
                            )
                        )
                    )
        max_ids = await max_ids_of(engine)
    finally:
        await engine.dispose()
    return ShopFacts(
        users=len(user_rows),
        products=len(product_rows),
        orders=len(order_rows),
        order_lines=len(line_rows),
        max_ids=max_ids,
    )


async def max_ids_of(engine: AsyncEngine) -> dict[str, int]:
    found = {}
    async with engine.connect() as conn:
        for table in (users, categories, products, orders, order_lines, payments, idempotency_keys):
            value = await conn.scalar(select(func.coalesce(func.max(table.c.id), 0)))
            found[table.name] = int(value or 0)
    return found


def fill(database_url: str, **sizes: Any) -> ShopFacts:
    return asyncio.run(fill_shop(database_url, **sizes))


def _canonical(payload: dict[str, Any]) -> str:
    """A payload as the SQL outbox writes it."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


async def fill_the_rest(database_url: str, facts: ShopFacts) -> None:
    """What `fill_shop` leaves empty, on a filled shop: profiles, address books and delivery
    addresses, shipments, refunds, an in-progress Idempotency-Key, consents, sessions (rotated
    and revoked families), outbox events with finished and unfinished claims, mail records, two
    stock reservations of no order (yet)."""
    rng = random.Random(20261202)
    start = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(users)
                .where(users.c.id == 2)
                .values(phone="010-9876-5432", language="en", must_change_password=True)
            )
            await conn.execute(update(users).where(users.c.id == 3).values(role="admin"))
            await conn.execute(
                update(orders)
                .where(orders.c.status.in_(["paid", "shipped", "delivered"]))
                .values(
                    subtotal=orders.c.total_amount - 3000,
                    delivery_fee=Decimal("3000.00"),
                    ship_recipient="김민지",
                    ship_phone="010-1234-5678",
                    ship_postal_code="06236",
                    ship_address1="서울 강남구 테헤란로 152",
                    ship_address2="",
                )
            )
            await conn.execute(
                update(orders)
                .where(orders.c.status.in_(["shipped", "delivered"]))
                .values(carrier="cj", tracking_number="6012-3456-7890")
            )
            cancelled = (
                await conn.execute(
                    select(orders.c.id, orders.c.total_amount)
                    .where(orders.c.status == "cancelled")
                    .order_by(orders.c.id)
                    .limit(20)
                )
            ).all()
        first_payment = facts.max_ids["payments"] + 1
        refunds = [
            {
                "id": first_payment + i,
                "order_id": order_id,
                "amount": total,
                "status": "refunded",
                "intent_key": f"sim_refund_{order_id:08d}",
                "provider_reference": f"sim_refund_{order_id:08d}",
                "card_last4": "0005",
                "created_at": start + timedelta(hours=i),
                "updated_at": start + timedelta(hours=i),
            }
            for i, (order_id, total) in enumerate(cancelled)
        ]
        address_rows = [
            {
                "id": i,
                "user_id": 1 + i // 2,
                "recipient": "Ana O'Neil" if i % 2 else "김민지",
                "phone": "010-1234-5678",
                "postal_code": f"{6000 + i:05d}",
                "address1": "서울 강남구 테헤란로 152",
                "address2": "" if i % 3 else '12층 "B"',
                "is_default": i % 2 == 1,
                "created_at": start + timedelta(minutes=i, microseconds=i),
            }
            for i in range(1, 11)
        ]
        consent_rows = [
            {
                "id": i,
                "user_id": 1 + (i - 1) // 2,
                "document": "privacy" if i % 2 else "terms",
                "version": "2025-01-01",
                "agreed_at": start + timedelta(seconds=i),
            }
            for i in range(1, 21)
        ]
        later = datetime.now(UTC).replace(microsecond=654321) + timedelta(days=30)
        # Lowercase ids: every backend's collation sorts them alike, as a backup needs; the
        # reserved one is not due while the tests use the shop.
        keys = [f"u1:{n:02x}{'ab' * 29}" for n in range(2)]  # 63 characters of the 64
        reservation_rows = [
            {
                "id": key,
                "status": status,
                "expires_at": later + timedelta(minutes=n, microseconds=123456),
                "created_at": start,
                "updated_at": start + timedelta(seconds=n),
            }
            for n, (key, status) in enumerate(zip(keys, ("reserved", "released"), strict=True))
        ]
        reservation_lines = [
            {
                "id": facts.max_ids["order_lines"] + 1 + n,  # past the orders' reservations'
                "reservation_id": key,
                "product_id": 1,
                "product_name": "상품",
                "unit_price": Decimal("0.01"),
                "quantity": 2,
            }
            for n, key in enumerate(keys)
        ]
        token_rows = []
        for i in range(1, 9):
            family = f"family{(i + 1) // 2:026d}"  # two tokens per family
            token_rows.append(
                {
                    "id": i,
                    "family": family,
                    "user_id": 1 + (i - 1) // 4,
                    "token_hash": f"{i:064x}",
                    "created_at": start + timedelta(hours=i),
                    "expires_at": later + timedelta(hours=i),
                    "rotated_at": start + timedelta(hours=i + 1) if i % 2 else None,
                    "revoked_at": start + timedelta(days=2) if family.endswith("2") else None,
                }
            )
        event_ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 13)]
        event_rows = [
            {
                "id": i,
                "event_id": event_ids[i - 1],
                "event_type": "order.placed",
                "event_version": 1,
                "occurred_at": start + timedelta(seconds=i, microseconds=rng.randrange(10**6)),
                "aggregate_type": "order",
                "aggregate_id": str(i),
                "payload": _canonical(
                    {"order_id": i, "total": f"{i}000.00", "lines": [{"q": 2}], "note": "ü\n"}
                ),
                "request_id": f"req-{i}" if i % 2 else None,
                "traceparent": f"00-{i:032x}-{i:016x}-01" if i % 3 else None,
            }
            for i in range(1, 13)
        ]
        claim_rows = [  # the lake finished 1-4, then holds 5-8; the mail reader finished 1-2
            {"id": n, "consumer": consumer, "outbox_id": position, "batch": batch, "finished": done}
            for n, (consumer, position, batch, done) in enumerate(
                [("lake", p, "000000000001-aaaa", True) for p in range(1, 5)]
                + [("lake", p, "000000000005-bbbb", False) for p in range(5, 9)]
                + [("mail", p, "000000000001-cccc", True) for p in range(1, 3)],
                start=1,
            )
        ]
        mail_rows = [
            {
                "event_id": event_ids[i],
                "sent": i < 2,
                "attempts": 1 + i,
                "updated_at": start + timedelta(minutes=i),
            }
            for i in range(3)
        ]
        in_progress = {
            "id": facts.max_ids["idempotency_keys"] + 1,
            "user_id": 1,
            "scope": "pay#1",
            "idem_key": "a key # with hashes",
            "fingerprint": "f" * 64,
            "response": "",
            "created_at": start,
        }
        for table, rows in (
            (payments, refunds),
            (addresses, address_rows),
            (consents, consent_rows),
            (refresh_tokens, token_rows),
            (outbox_events, event_rows),
            (outbox_claims, claim_rows),
            (mail_deliveries, mail_rows),
            (idempotency_keys, [in_progress]),
            (stock_reservations, reservation_rows),
            (stock_reservation_lines, reservation_lines),
        ):
            await _insert(engine, table, rows)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                for table in (
                    payments,
                    addresses,
                    consents,
                    refresh_tokens,
                    outbox_events,
                    outbox_claims,
                    idempotency_keys,
                    stock_reservation_lines,
                ):
                    await conn.execute(
                        select(
                            func.setval(
                                func.pg_get_serial_sequence(table.name, "id"),
                                select(func.max(table.c.id)).scalar_subquery(),
                            )
                        )
                    )
    finally:
        await engine.dispose()
