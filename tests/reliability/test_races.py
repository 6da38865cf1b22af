"""Concurrency and money over HTTP, against a real server process on SQLite, MariaDB, PostgreSQL
and DynamoDB (moto's server).

Every burst is released together: each request waits on one asyncio.Event, set once all of them
are ready, so they reach the server within the same few milliseconds.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.client import Shopper, create_product, log_in_admin, sign_up
from tests.reliability.conftest import rounds
from tests.reliability.ledger import books
from tests.support import ADDRESS, LiveServer, card, emf_total

CARD = "4242424242424242"
SHOPPERS = 3


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> tuple[Shopper, list[Shopper]]:
    return log_in_admin(live_server), [sign_up(live_server) for _ in range(SHOPPERS)]


async def together(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Start every call, hold them at a barrier, release them at once; gather the results."""
    gate = asyncio.Event()

    async def held(call: Callable[[], Awaitable[Any]]) -> Any:
        await gate.wait()
        return await call()

    tasks = [asyncio.create_task(held(call)) for call in calls]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.gather(*tasks)


def http(server: LiveServer) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits)


def order_body(*items: tuple[int, int]) -> dict[str, Any]:
    return {
        "items": [{"productId": pid, "quantity": qty} for pid, qty in items],
        "address": ADDRESS,
    }


def test_last_unit_goes_to_exactly_one_of_fifty(
    live_server: LiveServer, people: tuple[Shopper, list[Shopper]]
) -> None:
    admin, shoppers = people
    n_rounds = rounds(full=20, ci=5)

    async def storm(product_id: int) -> list[int]:
        async with http(live_server) as client:

            def buy(index: int) -> Callable[[], Awaitable[int]]:
                async def call() -> int:
                    answer = await client.post(
                        "/api/orders",
                        json=order_body((product_id, 1)),
                        headers=shoppers[index % len(shoppers)].headers,
                    )
                    return answer.status_code

                return call

            return await together([buy(i) for i in range(50)])

    with books(live_server) as ledger:
        for _ in range(n_rounds):
            product = create_product(admin, stock=1)
            statuses = asyncio.run(storm(product["id"]))
            assert Counter(statuses) == {201: 1, 409: 49}, Counter(statuses)
            assert ledger.stock([product["id"]]) == {product["id"]: (0, 1)}


def test_stock_is_conserved_under_mixed_load(
    live_server: LiveServer, people: tuple[Shopper, list[Shopper]]
) -> None:
    """Orders, cancels, payments and pay-vs-cancel races: initial = stock + units in live orders."""
    admin, shoppers = people
    initial = {create_product(admin, stock=40)["id"]: 40 for _ in range(4)}
    ids = list(initial)
    rng = random.Random(7)
    n_orders = rounds(full=300, ci=80)

    async def load() -> Counter[int]:
        statuses: Counter[int] = Counter()
        async with http(live_server) as client:

            async def one(index: int) -> None:
                shopper = shoppers[index % len(shoppers)]
                picked = rng.sample(ids, rng.randint(1, 3))
                answer = await client.post(
                    "/api/orders",
                    json=order_body(*((pid, rng.randint(1, 3)) for pid in picked)),
                    headers=shopper.headers,
                )
                statuses[answer.status_code] += 1
                if answer.status_code != 201:
                    return
                order_id = answer.json()["orderId"]
                fate = rng.choice(["keep", "pay", "cancel", "both"])
                calls = []
                if fate in ("pay", "both"):
                    calls.append(
                        client.post(
                            f"/api/orders/{order_id}/pay",
                            json=card(CARD),
                            headers=shopper.headers,
                        )
                    )
                if fate in ("cancel", "both"):
                    calls.append(
                        client.post(f"/api/orders/{order_id}/cancel", headers=shopper.headers)
                    )
                for later in await asyncio.gather(*calls):
                    statuses[later.status_code] += 1

            await together([lambda i=i: one(i) for i in range(n_orders)])  # type: ignore[misc]
        return statuses

    statuses = asyncio.run(load())
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[201] > 0
    with books(live_server) as ledger:
        for pid, (stock, sold) in ledger.stock(ids).items():
            assert stock >= 0
            assert stock + sold == initial[pid], (pid, stock, sold)
        ledger.check_payments_match_statuses(ids)


def test_opposite_order_carts_never_deadlock_into_5xx(
    live_server: LiveServer, people: tuple[Shopper, list[Shopper]]
) -> None:
    admin, shoppers = people
    pairs = rounds(full=100, ci=30)
    a = create_product(admin, stock=10 * pairs)["id"]
    b = create_product(admin, stock=10 * pairs)["id"]

    async def storm() -> list[int]:
        async with http(live_server) as client:

            def buy(index: int) -> Callable[[], Awaitable[int]]:
                # {A,B} and {B,A}: the same products listed in opposite orders
                items = [(a, 1), (b, 2)] if index % 2 else [(b, 2), (a, 1)]

                async def call() -> int:
                    answer = await client.post(
                        "/api/orders",
                        json=order_body(*items),
                        headers=shoppers[index % len(shoppers)].headers,
                    )
                    return answer.status_code

                return call

            return await together([buy(i) for i in range(2 * pairs)])

    statuses = asyncio.run(storm())
    assert Counter(statuses) == {201: 2 * pairs}, Counter(statuses)
    with books(live_server) as ledger:
        assert ledger.stock([a, b]) == {
            a: (10 * pairs - 2 * pairs, 2 * pairs),
            b: (10 * pairs - 4 * pairs, 4 * pairs),
        }


def paid_again(
    client: Shopper, order_id: int, key: str, refused: httpx.Response, tries: int = 30
) -> httpx.Response:
    """A payment refused as still in progress, asked again until it is not (1 s apart)."""
    answer = refused
    for _ in range(tries):
        if answer.json()["error"]["code"] != "payment_in_progress":
            return answer
        time.sleep(1)
        answer = client.post(
            f"/api/orders/{order_id}/pay", json=card(CARD), headers={"Idempotency-Key": key}
        )
    return answer


def test_idempotency_key_gives_one_order_and_one_payment(
    live_server: LiveServer, people: tuple[Shopper, list[Shopper]]
) -> None:
    admin, shoppers = people
    alice, bob = shoppers[0], shoppers[1]
    product = create_product(admin, stock=100)["id"]
    body = order_body((product, 2))

    # Sequential replays: the first answer comes back, marked as a replay.
    key = f"seq-{secrets.token_hex(6)}"
    first = alice.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    for _ in range(3):
        again = alice.post("/api/orders", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers.get("idempotent-replayed") == "true"

    # The same key with another body is refused; another user's same key is their own.
    other = alice.post(
        "/api/orders", json=order_body((product, 3)), headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    bobs = bob.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    assert bobs.status_code == 201 and bobs.json()["orderId"] != first.json()["orderId"]
    assert bobs.json()["order"]["user_id"] == bob.user["id"]

    # Ten at once with one key: one order, everyone gets its answer.
    burst_key = f"burst-{secrets.token_hex(6)}"

    async def burst(path: str, json: dict[str, Any], key: str) -> list[httpx.Response]:
        async with http(live_server) as client:

            async def call() -> httpx.Response:
                headers = {**alice.headers, "Idempotency-Key": key}
                return await client.post(path, json=json, headers=headers)

            return await together([call for _ in range(10)])

    answers = asyncio.run(burst("/api/orders", body, burst_key))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["orderId"] for answer in answers}) == 1
    order_id = answers[0].json()["orderId"]

    # Paying: ten at once with one key, then a sequential replay: one payment, and one charge
    # (the key is claimed before the charge; the others wait for its answer).
    pay_key = f"pay-{secrets.token_hex(6)}"
    charges_before = {o: payments_metric(live_server, o) for o in ("captured", "refunded")}
    paid = asyncio.run(burst(f"/api/orders/{order_id}/pay", card(CARD), pay_key))
    # One still waiting past the 10 s limit (a crowded machine) is told so, and asks again as
    # a client does: the charge it waited for must then be its answer too.
    paid = [
        answer if answer.status_code != 409 else paid_again(alice, order_id, pay_key, answer)
        for answer in paid
    ]
    assert {answer.status_code for answer in paid} == {200}, [a.text for a in paid]
    assert len({answer.json()["payment"]["id"] for answer in paid}) == 1
    charges = {o: payments_metric(live_server, o) - charges_before[o] for o in charges_before}
    assert charges == {"captured": 1, "refunded": 0}
    replay = alice.post(
        f"/api/orders/{order_id}/pay",
        json=card(CARD),
        headers={"Idempotency-Key": pay_key},
    )
    assert replay.status_code == 200 and replay.json() == paid[0].json()

    with books(live_server) as ledger:
        assert ledger.payments(order_id) == 1
        # 2 units each: the sequential order, Bob's, and the burst's single order.
        assert ledger.stock([product]) == {product: (100 - 6, 6)}


def test_pay_and_cancel_race_ends_cancelled_and_never_charged_for_nothing(
    live_server: LiveServer, people: tuple[Shopper, list[Shopper]]
) -> None:
    admin, shoppers = people
    n_orders = rounds(full=60, ci=15)
    product = create_product(admin, stock=n_orders)["id"]
    shopper = shoppers[2]
    placed = [
        shopper.post("/api/orders", json=order_body((product, 1))).json()["orderId"]
        for _ in range(n_orders)
    ]
    captured_before = payments_metric(live_server, "captured")

    async def race() -> list[tuple[int, int]]:
        async with http(live_server) as client:

            async def both(order_id: int) -> tuple[int, int]:
                pay, cancel = await together(
                    [
                        lambda: client.post(
                            f"/api/orders/{order_id}/pay",
                            json=card(CARD),
                            headers=shopper.headers,
                        ),
                        lambda: client.post(
                            f"/api/orders/{order_id}/cancel", headers=shopper.headers
                        ),
                    ]
                )
                return pay.status_code, cancel.status_code

            return list(await asyncio.gather(*(both(order_id) for order_id in placed)))

    outcomes = asyncio.run(race())
    # A cancel always wins in the end: before the payment (which is refused, its charge
    # refunded) or after it (the paid order is cancelled and its charge refunded).
    assert all(cancel == 200 and pay in (200, 409) for pay, cancel in outcomes), outcomes
    paid = sum(1 for pay, _ in outcomes if pay == 200)
    with books(live_server) as ledger:
        assert ledger.statuses(placed) == Counter({"cancelled": n_orders})
        # Each cancel gave its unit back once.
        stock, sold = ledger.stock([product])[product]
        assert (stock, sold) == (n_orders, 0)
        ledger.check_payments_match_statuses([product])
        # Each paid one recorded once, then refunded (none captured).
        # Every charge is a payment (its intent): each one given back, none standing.
        assert ledger.standing_payments(placed) == 0
    assert payments_metric(live_server, "captured") - captured_before == paid


def payments_metric(shop: LiveServer, outcome: str) -> float:
    server = shop.part("payments")  # behind a gateway: the payments service's own counters
    if server.runtime == "function":  # no scrape target: the EMF lines the function printed
        return emf_total(server.log(), f"Payments{outcome.capitalize()}")
    metrics = httpx.get(f"{server.url}/metrics").text
    pattern = rf'^cloudmall_payments_total\{{outcome="{outcome}"\}} (\S+)$'
    found = re.search(pattern, metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
