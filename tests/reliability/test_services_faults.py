"""The services topology under a mixed load while each service in turn is SIGKILLed and started
again: once the load ends and the events settle, every unit is accounted for, every paid order
has exactly one captured charge and no other order has one, and no event was handled twice.
A pay cut while the payments service was killed leaves its payment on its way (its intent
written before the charge): once the payments context's reconciler has run (`cloudmall
payments reconcile`, as the service's loop would after its grace), no payment is left pending
or charged, and every charge in the gateway's ledger has its payment — captured for a paid
order, refunded otherwise.

The load: several customers at once place orders (with Idempotency-Keys) on a few products of
small stock, then pay, cancel, do both at once, pay then cancel (a refund), or keep them,
retrying what a fault cut off (a 5xx or a cut connection) with the same key. Meanwhile
products, orders, payments and users are each SIGKILLed (no request finished, no batch handed
back) and started again on their databases. Settle: up to SETTLE_SECONDS for the outboxes to
be relayed and the events consumed (a member killed holding messages gives them up after the
fixture's 3 s visibility timeout).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from cloudmall.config import ServiceName
from tests.e2e.client import Shopper, create_product, log_in_admin, sign_up
from tests.reliability.conftest import rounds
from tests.support import ADDRESS, card, cli
from tests.topology import Topology, run_topology

START_STOCK = 12
PRODUCTS = 3
CUSTOMERS = 4
SETTLE_SECONDS = 30.0
#: Each kill: the load runs this long first, and the service stays down this long.
BEFORE_KILL_SECONDS = 1.5
DOWN_SECONDS = 0.5
#: What a fault answers: the gateway's 502/503/504 while a service is away or was cut.
FAULTS = (502, 503, 504)
RELEASES = ("cancel", "refund", "expired", "refused", "failed")


@dataclass
class Outcomes:
    statuses: Counter[str] = field(default_factory=Counter)
    orders: set[int] = field(default_factory=set)


def engine(database_url: str) -> Engine:
    return create_engine(database_url.replace("sqlite+aiosqlite", "sqlite", 1))


def rows(database_url: str, sql: str) -> list[Any]:
    db = engine(database_url)
    try:
        with db.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        db.dispose()


async def send(
    http: httpx.AsyncClient, outcomes: Outcomes, what: str, path: str, **kwargs: Any
) -> httpx.Response | None:
    """The request, sent again on a fault (the same key) until it gets an answer (None if the
    faults outlasted the tries)."""
    for _ in range(40):
        try:
            answer = await http.post(path, **kwargs)
        except httpx.TransportError:
            outcomes.statuses[f"{what} cut"] += 1
        else:
            outcomes.statuses[f"{what} {answer.status_code}"] += 1
            if answer.status_code not in FAULTS:
                return answer
        await asyncio.sleep(0.3)
    return None


async def customer(
    gateway: str, shopper: Shopper, products: list[int], outcomes: Outcomes, stop: threading.Event,
    seed: int,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=shopper.headers) as http:
        while not stop.is_set():
            picked = rng.sample(products, rng.randint(1, 2))
            body = {
                "items": [{"productId": pid, "quantity": rng.randint(1, 2)} for pid in picked],
                "address": ADDRESS,
            }
            key = {"Idempotency-Key": secrets.token_hex(8)}
            placed = await send(http, outcomes, "place", "/api/orders", json=body, headers=key)
            if placed is None or placed.status_code != 201:
                await asyncio.sleep(0.1)  # out of stock: others cancel meanwhile
                continue
            order_id = int(placed.json()["orderId"])
            outcomes.orders.add(order_id)
            # Most orders give their units back (cancelled, refunded) so the small stock lasts.
            fate = rng.choice(["keep", "pay", "cancel", "cancel", "both", "refund", "refund"])
            pay_key = {"Idempotency-Key": secrets.token_hex(8)}

            async def pay(order_id: int = order_id, pay_key: dict[str, str] = pay_key) -> None:
                path = f"/api/orders/{order_id}/pay"
                await send(http, outcomes, "pay", path, json=card(), headers=pay_key)

            async def cancel(order_id: int = order_id) -> None:
                await send(http, outcomes, "cancel", f"/api/orders/{order_id}/cancel")

            if fate == "pay":
                await pay()
            elif fate == "cancel":
                await cancel()
            elif fate == "both":  # at once: one wins, and a charge never stands for nothing
                await asyncio.gather(pay(), cancel())
            elif fate == "refund":
                await pay()
                await cancel()


def kill_each_service(topology: Topology, times: int, stop: threading.Event) -> None:
    """SIGKILL each service in turn and start it again, `times` over; then stop the load."""
    try:
        for _ in range(times):
            for service in (
                ServiceName.PRODUCTS,
                ServiceName.ORDERS,
                ServiceName.PAYMENTS,
                ServiceName.USERS,
            ):
                time.sleep(BEFORE_KILL_SECONDS)
                topology.kill(service)
                time.sleep(DOWN_SECONDS)
                topology.start(service)
        time.sleep(BEFORE_KILL_SECONDS)
    finally:
        stop.set()


def check_stock(topology: Topology, products: list[int]) -> list[str]:
    """stock + reserved + sold = the start, per product; each reservation's units given back
    exactly once if released, never otherwise."""
    db = topology.database(ServiceName.PRODUCTS)
    problems = []
    stock = dict(rows(db, f"SELECT id, stock_quantity FROM products WHERE id IN ({ids(products)})"))  # noqa: S608
    held: Counter[int] = Counter()
    lines: defaultdict[str, int] = defaultdict(int)
    status: dict[str, str] = {}
    for reservation_id, state, product_id, quantity in rows(
        db,
        "SELECT r.id, r.status, l.product_id, l.quantity FROM stock_reservations r "
        "JOIN stock_reservation_lines l ON l.reservation_id = r.id",
    ):
        status[reservation_id] = state
        lines[reservation_id] += quantity
        if state in ("reserved", "sold"):
            held[product_id] += quantity
    for pid in products:
        if stock[pid] + held[pid] != START_STOCK:
            problems.append(f"product {pid}: stock {stock[pid]} + held {held[pid]}")
    # The outbox keeps every event here: its `lake` reader never runs in this test.
    returned: Counter[str] = Counter()
    for (payload,) in rows(
        db, "SELECT payload FROM outbox_events WHERE event_type = 'product.stock_changed'"
    ):
        change = json.loads(payload)
        if change.get("reservation_id") and change["delta"] > 0:
            assert change["reason"] in RELEASES, change
            returned[change["reservation_id"]] += change["delta"]
    for reservation_id, units in lines.items():
        expected = units if status[reservation_id] == "released" else 0
        if returned[reservation_id] != expected:
            problems.append(f"reservation {reservation_id}: {returned[reservation_id]} back")
    return problems


def check_saga(topology: Topology, outcomes: Outcomes) -> list[str]:
    """Each order's reservation moved with it: cancelled → released, paid → sold, pending →
    reserved (what the events carry between the services, once they have arrived)."""
    orders = rows(
        topology.database(ServiceName.ORDERS),
        f"SELECT id, status, reservation_id FROM orders WHERE id IN ({ids(outcomes.orders)})",  # noqa: S608
    )
    reservations = dict(
        rows(topology.database(ServiceName.PRODUCTS), "SELECT id, status FROM stock_reservations")
    )
    expected = {"cancelled": "released", "paid": "sold", "pending": "reserved"}
    return [
        f"order {order_id} {status}: reservation {reservations.get(reservation_id)}"
        for order_id, status, reservation_id in orders
        if reservations.get(reservation_id) != expected[status]
    ]


def ledger(env: dict[str, str]) -> Path:
    """The simulated gateway's record of its charges (the payments service's, across its
    restarts: config.Settings.payment_ledger's default)."""
    return Path(env["CLOUDMALL_VAR_DIR"]) / "gateway-ledger.sqlite3"


def check_payments(topology: Topology, outcomes: Outcomes, ledger_file: Path) -> list[str]:
    """No payment left on its way; one captured charge per paid order and none for the others;
    every charge the gateway made has its payment, captured unless refunded at the gateway."""
    statuses = dict(
        rows(
            topology.database(ServiceName.ORDERS),
            f"SELECT id, status FROM orders WHERE id IN ({ids(outcomes.orders)})",  # noqa: S608
        )
    )
    payments = {
        intent_key: (order_id, status)
        for intent_key, order_id, status in rows(
            topology.database(ServiceName.PAYMENTS),
            "SELECT intent_key, order_id, status FROM payments",
        )
    }
    problems = [
        f"payment {key} of order {order} still {status}"
        for key, (order, status) in payments.items()
        if status in ("pending", "charged")
    ]
    captured = Counter(order for order, status in payments.values() if status == "captured")
    problems += [f"order {o}: {n} captured" for o, n in captured.items() if n > 1]
    problems += [
        f"order {o} {statuses.get(o)}: captured" for o in captured if statuses.get(o) != "paid"
    ]
    problems += [
        f"order {o} paid: nothing captured"
        for o, status in statuses.items()
        if status == "paid" and not captured[o]
    ]
    charges = rows(
        f"sqlite:///{ledger_file}",
        "SELECT intent_key, refunded FROM charges WHERE approved = 1",
    )
    assert charges, "the gateway made no charge: the load paid nothing"
    for intent_key, refunded in charges:
        _, status = payments.get(intent_key, (None, "no record"))
        if status != ("refunded" if refunded else "captured"):
            problems.append(f"charge {intent_key} (refunded={refunded}): payment {status}")
    return problems


def ids(values: Any) -> str:
    return ",".join(str(int(value)) for value in values) or "0"


def test_each_service_killed_under_load_leaves_every_unit_charge_and_event_accounted_for(
    tmp_path: Path,
) -> None:
    times = rounds(full=3, ci=1)
    with run_topology(tmp_path) as topology:
        gateway = topology.gateway
        admin = log_in_admin(gateway)
        products = [create_product(admin, stock=START_STOCK)["id"] for _ in range(PRODUCTS)]
        shoppers = [sign_up(gateway) for _ in range(CUSTOMERS)]
        outcomes = Outcomes()
        stop = threading.Event()

        async def load() -> None:
            killer = asyncio.to_thread(kill_each_service, topology, times, stop)
            await asyncio.gather(
                killer,
                *(
                    customer(gateway.url, shopper, products, outcomes, stop, seed)
                    for seed, shopper in enumerate(shoppers)
                ),
            )

        asyncio.run(load())
        assert outcomes.orders, outcomes.statuses
        assert not [s for s in outcomes.statuses if s.endswith(" 500")], outcomes.statuses
        assert any(s.endswith(" cut") or s.endswith(" 503") for s in outcomes.statuses)

        assert check_stock(topology, products) == []  # true at every commit: no settling
        deadline = time.monotonic() + SETTLE_SECONDS
        while (problems := check_saga(topology, outcomes)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert problems == [], (problems, outcomes.statuses)
        assert check_stock(topology, products) == []

        # The payments cut off on their way, settled (a grace of 0: the load is over).
        payments = topology.services[ServiceName.PAYMENTS]
        settled = cli(
            {**payments.env, "CLOUDMALL_PAYMENT_GRACE_SECONDS": "0.001"},
            tmp_path,
            "payments",
            "reconcile",
        )
        assert settled.returncode == 0, settled.stderr
        assert check_payments(topology, outcomes, ledger(payments.env)) == []

        for service in (ServiceName.PRODUCTS, ServiceName.ORDERS, ServiceName.USERS):
            twice = rows(
                topology.database(service),
                "SELECT consumer, event_id FROM inbox_events GROUP BY consumer, event_id "
                "HAVING COUNT(*) > 1",
            )
            assert twice == []
        handled = rows(topology.database(ServiceName.PRODUCTS), "SELECT COUNT(*) FROM inbox_events")
        assert handled[0][0] > 0  # order.cancelled did travel
        mailed = rows(topology.database(ServiceName.USERS), "SELECT COUNT(*) FROM inbox_events")
        assert mailed[0][0] > 0  # so did order.placed, to the users service's mail
