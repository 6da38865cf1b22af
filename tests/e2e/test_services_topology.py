"""The services topology as it runs: users, products, orders and payments as four real
`cloudmall serve --service` processes, each with its own SQLite database, behind nginx with the
config `cloudmall gateway config` writes, with a private Redis as their broker. A customer's
whole path through the gateway; the internal routes closed to the outside; the shop without its
payments service, and again with it; the saga's events through the broker (a cancel's units back
once the products service returns, an expired reservation's pending order cancelled, the
customer's order and refund mails sent by the users service, once each).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text

from cloudmall.adapters.db.tables import stock_reservations
from cloudmall.config import ServiceName
from cloudmall.services.mail_group import USERS_GROUP
from tests.e2e.client import Shopper, create_product, log_in_admin, sign_up
from tests.support import (
    ADDRESS,
    SHIPMENT,
    LiveServer,
    card,
    cli,
    free_port,
    start_redis,
    stop_server,
)
from tests.topology import INTERNAL_SECRET, Topology, run_topology


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with run_topology(tmp_path_factory.mktemp("services")) as running:
        yield running


def place(shopper: Shopper, product_id: int, quantity: int = 1) -> int:
    placed = shopper.post(
        "/api/orders",
        json={"items": [{"productId": product_id, "quantity": quantity}], "address": ADDRESS},
    )
    assert placed.status_code == 201, placed.text
    return int(placed.json()["orderId"])


def test_a_customer_signs_up_browses_orders_pays_and_cancels(topology: Topology) -> None:
    gateway = topology.gateway
    admin = log_in_admin(gateway)  # the users service signs; products verifies with its key
    product = create_product(admin, stock=5, price="20000.00")
    shopper = sign_up(gateway)
    logged_in = shopper.http.post(
        "/api/auth/login",
        json={"email": shopper.user["email"], "password": "a long enough passphrase"},
    )
    assert logged_in.status_code == 200, logged_in.text

    listed = shopper.get("/api/products", params={"limit": 100, "sort": "id"})
    assert listed.status_code == 200
    assert product["id"] in [row["id"] for row in listed.json()]
    assert shopper.http.get("/").status_code == 200  # the storefront, from the products service

    order_id = place(shopper, product["id"], 2)
    paid = shopper.post(f"/api/orders/{order_id}/pay", json=card())
    assert paid.status_code == 200, paid.text
    assert shopper.get(f"/api/orders/{order_id}").json()["status"] == "paid"
    payments = shopper.get(f"/api/orders/{order_id}/payments")
    assert payments.status_code == 200 and len(payments.json()) == 1

    cancelled = shopper.post(f"/api/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    refunded = shopper.get(f"/api/orders/{order_id}/payments").json()
    assert refunded[0]["status"] == "refunded"
    stock = shopper.get(f"/api/products/{product['id']}").json()["stock_quantity"]
    assert stock == 5  # reserved, sold, then released by the cancel


def test_the_staff_overview_reads_orders_here_and_low_stock_from_products(
    topology: Topology,
) -> None:
    """The orders service answers the overview; its database holds no products, so the low
    stock comes from the products service (StockDesk.low_stock over its internal route)."""
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    product = create_product(admin, stock=3, price="4500.00", name="Almost gone kettle")
    shopper = sign_up(gateway)
    order_id = place(shopper, product["id"], 2)
    assert shopper.post(f"/api/orders/{order_id}/pay", json=card()).status_code == 200

    answer = admin.get("/api/admin/overview")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    low = {row["id"]: row for row in found["low_stock"]}
    assert product["id"] in low, found["low_stock"]
    kettle = low[product["id"]]
    assert (kettle["name"], kettle["price"], kettle["stock_quantity"]) == (
        "Almost gone kettle",
        "4500.00",
        1,
    )
    assert kettle["created_at"] == product["created_at"]
    assert found["orders_today"] >= 1 and found["orders_to_ship"] >= 1
    # The orders service's own process: it looks nothing up in a catalogue cache, and its lake
    # (CLOUDMALL_LAKE_URL, here its own var/lake) holds nothing until something is exported.
    assert found["cache_hit_ratio"] is None
    assert found["lake"]["orders"] == 0


def test_internal_routes_are_not_reachable_through_the_gateway(topology: Topology) -> None:
    with httpx.Client(base_url=topology.gateway.url, timeout=10) as http:
        for path in (
            "/internal/v1/stock/reservations",
            "/internal/v1/stock/low",
            "/internal/v1/orders/1/mark-paid",
        ):
            answer = http.post(path, json={}, headers={"X-Cloudmall-Internal": INTERNAL_SECRET})
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "not_found"


def test_an_internal_route_without_the_secret_is_401(topology: Topology) -> None:
    products = topology.services[ServiceName.PRODUCTS].url
    path = "/internal/v1/stock/reservations"
    body = {"requests": [{"id": "x", "quantities": [{"product_id": 1, "quantity": 1}]}]}
    for headers in ({}, {"X-Cloudmall-Internal": "wrong" * 10}):
        answer = httpx.post(f"{products}{path}", json=body, headers=headers, timeout=10)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "authentication_failed"


def until(answer: Callable[[], int], wanted: int, *, within: float = 8.0) -> float:
    """Seconds until `answer()` (a status) is `wanted`; fails after `within`."""
    started = time.monotonic()
    while (status := answer()) != wanted:
        assert time.monotonic() - started < within, f"still {status} after {within:g} s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_demoted_member_of_staff_is_refused_by_orders_and_products_within_seconds(
    topology: Topology,
) -> None:
    """The role is the users service's, published to the access board, not the token's: the
    same token loses the staff routes of the other services once the role changes."""
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    staff = sign_up(gateway)
    promoted = admin.put(f"/api/admin/users/{staff.user['id']}/role", json={"role": "admin"})
    assert promoted.status_code == 200, promoted.text
    # the customer's token is staff's at orders (the role from the board, not its claim)
    until(lambda: staff.get("/api/admin/orders").status_code, 200)
    logged_in = staff.http.post(
        "/api/auth/login",
        json={"email": staff.user["email"], "password": "a long enough passphrase"},
    )
    assert logged_in.status_code == 200, logged_in.text
    staff = Shopper(staff.http, logged_in.json()["access_token"], staff.user)  # claims staff
    new_product = {"name": "Kettle", "price": "1000.00", "stock_quantity": 1}
    created = staff.post("/api/products", json=new_product)
    assert created.status_code == 201, created.text

    demoted = admin.put(f"/api/admin/users/{staff.user['id']}/role", json={"role": "customer"})
    assert demoted.status_code == 200, demoted.text
    until(lambda: staff.get("/api/admin/orders").status_code, 403)
    until(lambda: staff.post("/api/products", json=new_product).status_code, 403)
    refused = staff.get("/api/admin/overview")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert staff.get("/api/orders").status_code == 200  # still a customer


def test_a_token_from_before_a_password_change_is_refused_by_orders(topology: Topology) -> None:
    shopper = sign_up(topology.gateway)
    assert shopper.get("/api/orders").status_code == 200
    changed = shopper.post(
        "/api/auth/password",
        json={"current_password": "a long enough passphrase", "new_password": "a new passphrase"},
    )
    assert changed.status_code == 200, changed.text
    until(lambda: shopper.get("/api/orders").status_code, 401)
    assert shopper.get("/api/orders").json()["error"]["code"] == "authentication_failed"
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert shopper.get("/api/orders", headers=fresh).status_code == 200


def test_without_payments_the_rest_answers_and_paying_is_503_until_it_returns(
    topology: Topology,
) -> None:
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    product = create_product(admin, stock=5)
    shopper = sign_up(gateway)
    paid_before = place(shopper, product["id"])
    assert shopper.post(f"/api/orders/{paid_before}/pay", json=card()).status_code == 200
    stop_server(topology.services[ServiceName.PAYMENTS])
    try:
        assert shopper.get("/api/products").status_code == 200
        newcomer = sign_up(gateway)
        assert newcomer.get("/api/auth/me").status_code == 200
        order_id = place(shopper, product["id"])

        refused = shopper.post(f"/api/orders/{order_id}/pay", json=card())  # the gateway's 503
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert refused.json()["error"]["code"] == "dependency_unavailable"

        # The orders service's own call to refund (its client: retries, then 503).
        not_refunded = shopper.post(f"/api/orders/{paid_before}/cancel")
        assert not_refunded.status_code == 503
        assert not_refunded.headers["Retry-After"] == "5"
        assert not_refunded.json()["error"]["code"] == "dependency_unavailable"
        assert shopper.get(f"/api/orders/{paid_before}").json()["status"] == "paid"
    finally:
        topology.restart(ServiceName.PAYMENTS)
    paid = shopper.post(f"/api/orders/{order_id}/pay", json=card())
    assert paid.status_code == 200, paid.text
    cancelled = shopper.post(f"/api/orders/{paid_before}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


def test_without_products_the_others_stay_ready_and_ordering_fails_fast(
    topology: Topology,
) -> None:
    """The orders service's client gives up on a stopped products service within the issue's
    2 s (its retries and the circuit breaker), answering 503 with Retry-After; nothing hangs."""
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    product = create_product(admin, stock=5)
    shopper = sign_up(gateway)
    stop_server(topology.services[ServiceName.PRODUCTS])
    try:
        for service in (ServiceName.USERS, ServiceName.ORDERS, ServiceName.PAYMENTS):
            ready = httpx.get(f"{topology.services[service].url}/readyz", timeout=5)
            assert ready.status_code == 200, (service, ready.text)
        body = {"items": [{"productId": product["id"], "quantity": 1}], "address": ADDRESS}
        for _ in range(3):  # the first calls, then with the breaker open
            started = time.monotonic()
            refused = shopper.post("/api/orders", json=body)
            elapsed = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "5"
            assert refused.json()["error"]["code"] == "dependency_unavailable"
            assert elapsed <= 2.0, elapsed
        assert shopper.get("/api/orders").status_code == 200  # the orders service answers
    finally:
        topology.start(ServiceName.PRODUCTS)
    deadline = time.monotonic() + 15  # the breaker's cool-down, then a trial call
    while True:
        placed = shopper.post("/api/orders", json=body)
        if placed.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert placed.status_code == 201, placed.text


def four_free_ports() -> int:
    """The first of four consecutive free ports."""
    for _ in range(50):
        first = free_port()
        if first + 3 < 65536 and all(port_is_free(first + i) for i in range(4)):
            return first
    raise RuntimeError("no four consecutive free ports")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_services_run_starts_everything_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    """`make run-services`: the four services and nginx from one command, with a broker."""
    redis = start_redis()
    gateway_port, first = free_port(), four_free_ports()
    log_path = tmp_path / "run.log"
    run: subprocess.Popen[bytes] | None = None
    try:
        with log_path.open("wb") as log:
            run = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cloudmall",
                    "services",
                    "run",
                    "--port",
                    str(gateway_port),
                    "--first-port",
                    str(first),
                    "--var-dir",
                    str(tmp_path / "var"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env={
                    **os.environ,
                    "CLOUDMALL_DEMO_PRODUCTS": "3",
                    "CLOUDMALL_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
                    "CLOUDMALL_SIGNUPS_PER_CLIENT": "1000",
                },
            )
        deadline = time.monotonic() + 120
        while "Ctrl-C stops them all" not in log_path.read_text(errors="replace"):
            assert run.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.3)
        gateway = f"http://127.0.0.1:{gateway_port}"
        products = httpx.get(f"{gateway}/api/products", timeout=10)
        assert products.status_code == 200 and len(products.json()) == 3
        output = log_path.read_text(errors="replace")
        assert f"running at {gateway}/" in output
        assert "one-time password" in output  # the users service made the admin

        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 0
        assert all(port_is_free(port) for port in (gateway_port, *range(first, first + 4)))
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        redis.stop()


def stock_of(gateway: LiveServer, product_id: int) -> int:
    answer = httpx.get(f"{gateway.url}/api/products/{product_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["stock_quantity"])


def wait_for(check: Callable[[], bool], what: str, *, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.2)


def sqlite_engine(database_url: str) -> Engine:
    return create_engine(database_url.replace("sqlite+aiosqlite", "sqlite", 1))


def handled(topology: Topology, service: ServiceName) -> list[tuple[str, str]]:
    """The (group, event id) rows of the service's inbox."""
    engine = sqlite_engine(topology.database(service))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT consumer, event_id FROM inbox_events")).all()
    finally:
        engine.dispose()
    return [(str(consumer), str(event_id)) for consumer, event_id in rows]


def test_a_cancel_while_products_is_down_gives_the_units_back_once_it_returns(
    topology: Topology,
) -> None:
    """The synchronous release fails (logged only); `order.cancelled` travels through the
    broker and the products service releases the reservation when it is back, once."""
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    product = create_product(admin, stock=5)
    shopper = sign_up(gateway)
    order_id = place(shopper, product["id"], 2)
    assert stock_of(gateway, product["id"]) == 3
    before = len(handled(topology, ServiceName.PRODUCTS))
    stop_server(topology.services[ServiceName.PRODUCTS])
    try:
        cancelled = shopper.post(f"/api/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
    finally:
        topology.start(ServiceName.PRODUCTS)
    orders_log = topology.services[ServiceName.ORDERS].log()
    assert "could not release a reservation" in orders_log
    wait_for(lambda: stock_of(gateway, product["id"]) == 5, "the units back")
    time.sleep(1.0)  # a second release would show by now (the consumer polls every 0.2 s)
    assert stock_of(gateway, product["id"]) == 5
    assert len(handled(topology, ServiceName.PRODUCTS)) == before + 1  # one order.cancelled


def test_an_expired_reservation_cancels_its_pending_order_through_the_broker(
    topology: Topology,
) -> None:
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    product = create_product(admin, stock=4)
    shopper = sign_up(gateway)
    order_id = place(shopper, product["id"], 3)
    orders_db = sqlite_engine(topology.database(ServiceName.ORDERS))
    products_db = sqlite_engine(topology.database(ServiceName.PRODUCTS))
    try:
        with orders_db.connect() as conn:
            reservation_id = conn.execute(
                text("SELECT reservation_id FROM orders WHERE id = :id"), {"id": order_id}
            ).scalar_one()
        with products_db.begin() as conn:  # its time is up
            conn.execute(
                stock_reservations.update()
                .where(stock_reservations.c.id == reservation_id)
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
    finally:
        orders_db.dispose()
        products_db.dispose()
    products = topology.services[ServiceName.PRODUCTS]
    swept = cli(products.env, topology.tmp_path, "stock", "expire")  # the sweeper, once
    assert swept.returncode == 0, swept.stderr
    assert "released 1 expired reservations" in swept.stdout
    assert stock_of(gateway, product["id"]) == 4

    def cancelled() -> bool:
        return bool(shopper.get(f"/api/orders/{order_id}").json()["status"] == "cancelled")

    wait_for(cancelled, "the pending order cancelled by stock.reservation_expired")
    refused = shopper.post(f"/api/orders/{order_id}/pay", json=card())
    assert refused.status_code == 409, refused.text
    assert stock_of(gateway, product["id"]) == 4


def mails_to(topology: Topology, address: str) -> dict[str, str]:
    """The users service's mail folder: event id (the file's name) → subject, of the mails to
    `address`."""
    folder = Path(topology.services[ServiceName.USERS].env["CLOUDMALL_VAR_DIR"]) / "mail"
    found = {}
    for path in folder.glob("*.eml"):
        mail = message_from_bytes(path.read_bytes())
        if str(mail["To"]).lower() == address.lower():
            found[path.stem] = str(make_header(decode_header(str(mail["Subject"]))))
    return found


def test_a_customers_order_shipping_and_refund_mails_are_sent_once_by_the_users_service(
    topology: Topology,
) -> None:
    """The orders and payments services record the events; the users service receives them
    from the broker and mails the customer, once each even when the events come again."""
    gateway = topology.gateway
    admin = log_in_admin(gateway)
    product = create_product(admin, stock=5, price="20000.00")
    shopper = sign_up(gateway)
    email = shopper.user["email"]
    shipped_id = place(shopper, product["id"])
    refunded_id = place(shopper, product["id"], 2)
    for order_id in (shipped_id, refunded_id):
        paid = shopper.post(f"/api/orders/{order_id}/pay", json=card())
        assert paid.status_code == 200, paid.text
    shipped = admin.post(f"/api/admin/orders/{shipped_id}/ship", json=SHIPMENT)
    assert shipped.status_code == 200, shipped.text
    cancelled = shopper.post(f"/api/orders/{refunded_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    subjects = {
        f"주문 #{shipped_id}이(가) 접수되었습니다",
        f"주문 #{shipped_id}이(가) 발송되었습니다",
        f"주문 #{refunded_id}이(가) 접수되었습니다",
        f"주문 #{refunded_id} 환불 안내",
    }
    welcome = "cloudmall에 오신 것을 환영합니다"

    def all_mailed() -> bool:
        return set(mails_to(topology, email).values()) == {welcome, *subjects}

    wait_for(all_mailed, "the welcome, two confirmations, the shipping and the refund mails")
    mailed = {event_id for event_id, subject in mails_to(topology, email).items()
              if subject != welcome}  # fmt: skip
    assert {(USERS_GROUP, event_id) for event_id in mailed} <= set(
        handled(topology, ServiceName.USERS)
    )
    # The events come again (a relay that republishes after a crash): nothing is sent twice.
    url = topology.services[ServiceName.USERS].env["CLOUDMALL_BROKER_URL"]
    broker = redis.Redis.from_url(url, decode_responses=True)
    try:
        stream = broker.xrange("cloudmall:events")  # decoded: each message's fields, str → str
        again = [fields for _, fields in stream if fields["event_id"] in mailed]
        for fields in again:
            broker.xadd("cloudmall:events", fields)
    finally:
        broker.close()
    assert len(again) == len(mailed) == 4
    time.sleep(2.0)  # the users group polls every 0.2 s: a second mail would be out by now
    log = topology.services[ServiceName.USERS].log()
    for subject in subjects:  # each send logs one line
        assert log.count(f"{email}: {subject} (") == 1, subject
    assert set(mails_to(topology, email).values()) == {welcome, *subjects}
