"""The data lake is exact: after orders, payments, declines, cancels and refunds through the API,
the lake's revenue per day and orders per status equal the database's to the cent; an export run
again adds nothing; exports killed with SIGKILL part-way and run again leave each event once."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import shop_env
from tests.e2e.client import Shopper, create_product, log_in_admin, sign_up
from tests.reliability.conftest import ROUNDS, database, rounds
from tests.support import (
    ADDRESS,
    S3_ENV,
    SHIPMENT,
    LiveServer,
    Service,
    card,
    cli,
    new_bucket,
    scratch_database,
    start_server,
    stop_server,
)

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
SOLD = ("paid", "shipped", "delivered")
WHOLE_TIME = ["--from", "2000-01-01", "--to", "2100-12-31"]
LAKE_BACKENDS = ["mariadb"] + (["sqlite", "postgresql"] if ROUNDS == "full" else [])


class Mix:
    """Customers' orders with what happens next, drawn from one seed."""

    def __init__(self, server: LiveServer, admin: Shopper, shoppers: list[Shopper]) -> None:
        self.server = server
        self.admin = admin
        self.shoppers = shoppers
        self.outcomes: Counter[str] = Counter()

    async def one(self, http: httpx.AsyncClient, index: int, products: list[int]) -> None:
        draw = random.Random(index)
        shopper = self.shoppers[index % len(self.shoppers)]
        headers = shopper.headers
        items = [
            {"productId": pid, "quantity": draw.randint(1, 3)}
            for pid in draw.sample(products, draw.randint(1, 3))
        ]
        body = {"items": items, "address": ADDRESS}
        placed = await http.post("/api/orders", json=body, headers=headers)
        assert placed.status_code == 201, placed.text
        order = f"/api/orders/{placed.json()['orderId']}"
        roll = draw.random()
        if roll < 0.15:
            return  # left pending
        if roll < 0.35:
            answer = await http.post(f"{order}/cancel", headers=headers)
            assert answer.status_code == 200, answer.text
            return
        if roll < 0.40:  # pay and cancel at once: cancelled in the end, any charge refunded
            pay, cancel = await asyncio.gather(
                http.post(f"{order}/pay", json=card(GOOD_CARD), headers=headers),
                http.post(f"{order}/cancel", headers=headers),
            )
            self.outcomes[f"race {pay.status_code}/{cancel.status_code}"] += 1
            return
        if roll < 0.55:
            declined = await http.post(f"{order}/pay", json=card(DECLINED_CARD), headers=headers)
            assert declined.status_code == 402, declined.text
            self.outcomes["declined"] += 1
            if roll < 0.47:
                return  # gave up: stays pending
        paid = await http.post(f"{order}/pay", json=card(GOOD_CARD), headers=headers)
        assert paid.status_code == 200, paid.text
        staff = f"/api/admin{order.removeprefix('/api')}"
        admin = self.admin.headers
        then = draw.random()
        if then < 0.3:
            shipped = await http.post(f"{staff}/ship", json=SHIPMENT, headers=admin)
            assert shipped.status_code == 200, shipped.text
            if draw.random() < 0.5:
                done = await http.post(f"{staff}/deliver", headers=admin)
                assert done.status_code == 200, done.text
        elif then < 0.4:  # the customer cancels the paid order: refunded
            cancelled = await http.post(f"{order}/cancel", headers=headers)
            assert cancelled.status_code == 200, cancelled.text
            self.outcomes["paid, cancelled"] += 1
        elif then < 0.45:  # staff refunds it
            refunded = await http.post(f"{staff}/refund", headers=admin)
            assert refunded.status_code == 200, refunded.text
            self.outcomes["paid, refunded"] += 1
        elif then < 0.5:  # staff refunds as the customer cancels: refunded once
            answers = await asyncio.gather(
                http.post(f"{staff}/refund", headers=admin),
                http.post(f"{order}/cancel", headers=headers),
            )
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            self.outcomes["paid, refunded as cancelled"] += 1

    async def run(self, count: int, products: list[int]) -> None:
        limit = asyncio.Semaphore(16)
        # No keep-alive: on this busy machine a request sent as the server closes an idle
        # connection would be lost in transit (a ReadError), and retrying a POST is not ours to do.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=self.server.url, timeout=60, limits=fresh) as http:

            async def bounded(index: int) -> None:
                async with limit:
                    await self.one(http, index, products)

            await asyncio.gather(*(bounded(index) for index in range(count)))


def database_truth(url: str) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[int, Decimal]]]:
    """Per day placed (UTC): orders, paid orders, revenue, cancelled; per status: count, amount."""
    with database(url) as engine, engine.connect() as conn:
        rows = conn.execute(text("SELECT created_at, status, total_amount FROM orders")).all()
    daily: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"orders": 0, "paid_orders": 0, "revenue": Decimal("0.00"), "cancelled": 0}
    )
    statuses: dict[str, tuple[int, Decimal]] = {}
    for created_at, status, total in rows:
        day = daily[created_at.date().isoformat()]  # stored as naive UTC
        day["orders"] += 1
        day["paid_orders"] += status in SOLD
        day["revenue"] += total if status in SOLD else 0
        day["cancelled"] += status == "cancelled"
        count, amount = statuses.get(status, (0, Decimal("0.00")))
        statuses[status] = (count + 1, amount + total)
    return dict(daily), statuses


def database_refunds(url: str) -> dict[int, Decimal]:
    """The refunded payments' amounts by order (an order is paid, so refunded, once at most)."""
    with database(url) as engine, engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, amount FROM payments WHERE status = 'refunded'")
        ).all()
    refunds = {int(order_id): amount for order_id, amount in rows}
    assert len(refunds) == len(rows)
    return refunds


def lake_refunds(env: dict[str, str], tmp_path: Path, reason: str) -> dict[int, Decimal]:
    """The lake's refunds for `reason` by order; an order refunded twice would fail."""
    sql = (
        "SELECT order_id, amount FROM events"  # noqa: S608 (the test's own constant)
        f" WHERE type = 'payment.refunded' AND reason = '{reason}'"
    )
    rows = lake_json(env, tmp_path, "query", sql, "--format", "json")
    refunds = {int(row["order_id"]): Decimal(row["amount"]) for row in rows}
    assert len(refunds) == len(rows)
    return refunds


def count_rows(url: str, table: str, status: str | None = None) -> int:
    where = "" if status is None else " WHERE status = :status"
    with database(url) as engine, engine.connect() as conn:
        query = text(f"SELECT COUNT(*) FROM {table}{where}")  # noqa: S608
        return int(conn.execute(query, {"status": status}).scalar_one())


def lake_json(env: dict[str, str], tmp_path: Path, *args: str) -> Any:
    done = cli(env, tmp_path, "lake", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def lake_counts(env: dict[str, str], tmp_path: Path) -> dict[str, int]:
    sql = (
        "SELECT (SELECT count(*) FROM events) AS events,"
        " (SELECT count(DISTINCT event_id) FROM events) AS distinct_events,"
        " (SELECT count(*) FROM order_lines) AS lines,"
        " (SELECT count(DISTINCT event_id || '/' || CAST(product_id AS VARCHAR))"
        "  FROM order_lines) AS distinct_lines"
    )
    (counts,) = lake_json(env, tmp_path, "query", sql, "--format", "json")
    return {key: int(value) for key, value in counts.items()}


def kill_part_way(env: dict[str, str], tmp_path: Path, url: str, below: int) -> int:
    """Start an export and SIGKILL it once fewer than `below` events wait; the events left."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cloudmall", "lake", "export"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while (left := count_rows(url, "outbox_events")) >= below:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the export did not get going"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    return left


@pytest.mark.parametrize("backend", LAKE_BACKENDS)
def test_lake_equals_the_database_and_exports_each_event_once(
    backend: str, tmp_path: Path, moto: Service
) -> None:
    n_orders = rounds(full=10_000, ci=1_000)
    with scratch_database(backend, tmp_path) as url:
        env = shop_env(
            url,
            tmp_path,
            CLOUDMALL_LAKE_URL=new_bucket(moto),
            CLOUDMALL_LAKE_BATCH_SIZE=str(max(50, n_orders // 10)),
            # The lake is the outbox's only reader here: exported events leave it at once.
            CLOUDMALL_OUTBOX_CONSUMERS="lake",
            **S3_ENV,
        )
        server = start_server(env, tmp_path, workers=2)
        try:
            admin = log_in_admin(server)
            products = [
                create_product(admin, stock=100_000, price=f"{9 + i}.{(i * 37) % 100:02d}")["id"]
                for i in range(12)
            ]
            shoppers = [sign_up(server, f"Shopper {i}") for i in range(8)]
            mix = Mix(server, admin, shoppers)
            asyncio.run(mix.run(n_orders, products))
        finally:
            stop_server(server)
        assert mix.outcomes["declined"] > 0 and any(k.startswith("race") for k in mix.outcomes)
        produced = count_rows(url, "outbox_events")
        assert produced > 4 * n_orders  # placed + stock moves + moves + payments
        env = {**server.env}

        # Two exports killed part-way, then one that finishes.
        first_left = kill_part_way(env, tmp_path, url, below=produced * 3 // 4)
        second_left = kill_part_way(env, tmp_path, url, below=first_left * 2 // 3)
        assert 0 < second_left < first_left < produced
        done = cli(env, tmp_path, "lake", "export")
        assert done.returncode == 0, done.stderr
        assert count_rows(url, "outbox_events") == 0  # exported events left the outbox

        counts = lake_counts(env, tmp_path)
        assert counts["events"] == counts["distinct_events"] == produced
        assert counts["lines"] == counts["distinct_lines"] == count_rows(url, "order_lines")

        report = lake_json(env, tmp_path, "report", *WHOLE_TIME, "--format", "json")
        daily, statuses = database_truth(url)
        assert {
            row["order_day"]: {
                "orders": row["orders"],
                "paid_orders": row["paid_orders"],
                "revenue": Decimal(row["revenue"]),
                "cancelled": row["cancelled"],
            }
            for row in report["daily"]
        } == daily
        assert {
            row["status"]: (row["orders"], Decimal(row["amount"])) for row in report["statuses"]
        } == statuses
        (payments,) = report["payments"]
        captured_rows = count_rows(url, "payments", "captured")
        refunds = database_refunds(url)
        requested = lake_refunds(env, tmp_path, "requested")
        late = lake_refunds(env, tmp_path, "order_not_pending")
        # A captured payment stays captured or is refunded when asked for (a cancel may also
        # refund a charge before its capture, so the asked-for refunds bound it from above).
        assert captured_rows <= payments["captured"] <= captured_rows + len(requested)
        assert payments["declined"] == mix.outcomes["declined"]
        # Refunds: a paid order cancelled by its customer or refunded by staff (or both at once)
        # has its payment refunded once; a charge that came back because the order was cancelled
        # as it was paid (the race) is refunded for `order_not_pending`. Every charge is a
        # payment (its intent), so the database holds both, as the lake does.
        asked = sum(v for k, v in mix.outcomes.items() if k.startswith("paid, "))
        assert len(requested) >= asked > 0
        assert len(late) <= sum(v for k, v in mix.outcomes.items() if k.startswith("race"))
        assert {**late, **requested} == refunds
        assert (payments["refunded"], Decimal(payments["refunded_amount"])) == (
            count_rows(url, "payments", "refunded"),
            sum(requested.values(), Decimal("0.00")) + sum(late.values(), Decimal("0.00")),
        )
        (headline,) = report["headline"]
        assert headline["orders"] == n_orders
        assert Decimal(headline["revenue"]) == sum(day["revenue"] for day in daily.values())

        print(f"\nlake: {n_orders} orders, {produced} events; {dict(sorted(mix.outcomes.items()))}")
        again = cli(env, tmp_path, "lake", "export")
        assert again.returncode == 0 and again.stdout.startswith("exported 0 events"), again
        assert lake_counts(env, tmp_path) == counts
