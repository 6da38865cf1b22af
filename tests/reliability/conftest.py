"""Helpers for the reliability suite: round counts, direct database checks, a live shop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

#: `ci` (the default, what `make test` runs) or `full` (what `make reliability` runs).
ROUNDS = os.environ.get("CLOUDMALL_RELIABILITY_ROUNDS", "ci")
LIVE = ("pending", "paid", "shipped", "delivered")


def rounds(full: int, ci: int) -> int:
    """How many rounds a long test runs: `full` under `make reliability`, `ci` in `make test`."""
    if ROUNDS == "full":
        return full
    if ROUNDS.isdigit():  # an explicit number caps every long test
        return min(full, int(ROUNDS))
    return ci


def sync_url(database_url: str) -> str:
    """A cloudmall database URL for a synchronous driver the tests have (pymysql, psycopg)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    driver = {"sqlite": "sqlite", "mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg"}
    return url.set(drivername=driver[backend]).render_as_string(hide_password=False)


@contextmanager
def database(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sync_url(database_url))
    try:
        yield engine
    finally:
        engine.dispose()


def stock_ledger(
    engine: Engine, product_ids: list[int], orders: Engine | None = None
) -> dict[int, tuple[int, int]]:
    """For each product: (stock now, units in live orders); the orders in `orders`' database
    when they have one of their own (the services topology), else in `engine`'s."""
    ids = ",".join(str(int(pid)) for pid in product_ids)
    live = ",".join(f"'{status}'" for status in LIVE)
    with engine.connect() as conn:
        stock = dict(
            conn.execute(text(f"SELECT id, stock_quantity FROM products WHERE id IN ({ids})")).all()  # noqa: S608
        )
    with (orders or engine).connect() as conn:
        sold = dict(
            conn.execute(
                text(
                    "SELECT l.product_id, SUM(l.quantity) FROM order_lines l "  # noqa: S608
                    f"JOIN orders o ON o.id = l.order_id WHERE l.product_id IN ({ids}) "
                    f"AND o.status IN ({live}) GROUP BY l.product_id"
                )
            ).all()
        )
    return {pid: (int(stock[pid]), int(sold.get(pid) or 0)) for pid in product_ids}


def reserved_for_no_order(engine: Engine, product_ids: list[int]) -> dict[int, int]:
    """For each product: units reserved for an order that was never recorded (its process died
    between the two contexts' transactions: they go back when the reservation expires, or to
    the order when its client retries with its Idempotency-Key)."""
    ids = ",".join(str(int(pid)) for pid in product_ids)
    with engine.connect() as conn:
        held = dict(
            conn.execute(
                text(
                    "SELECT l.product_id, SUM(l.quantity) FROM stock_reservation_lines l "  # noqa: S608
                    "JOIN stock_reservations r ON r.id = l.reservation_id "
                    f"WHERE l.product_id IN ({ids}) AND r.status = 'reserved' AND NOT EXISTS "
                    "(SELECT 1 FROM orders o WHERE o.reservation_id = r.id) "
                    "GROUP BY l.product_id"
                )
            ).all()
        )
    return {pid: int(held.get(pid) or 0) for pid in product_ids}


def orphans(engine: Engine) -> tuple[int, int]:
    """(lines whose order is missing, orders without any line): both must be 0."""
    with engine.connect() as conn:
        lines = conn.execute(
            text(
                "SELECT COUNT(*) FROM order_lines l LEFT JOIN orders o ON o.id = l.order_id "
                "WHERE o.id IS NULL"
            )
        ).scalar_one()
        empty = conn.execute(
            text(
                "SELECT COUNT(*) FROM orders o WHERE NOT EXISTS "
                "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)"
            )
        ).scalar_one()
    return int(lines), int(empty)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
