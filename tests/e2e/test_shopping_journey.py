"""The issue's end-to-end journey, over HTTP only, against a real server process per backend."""

from __future__ import annotations

import secrets

from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import ADDRESS, SHIPMENT, LiveServer, card


def stock_of(server_client: object, product_id: int) -> int:
    from tests.e2e.client import Shopper

    assert isinstance(server_client, Shopper)
    answer = server_client.get(f"/api/products/{product_id}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["stock_quantity"])


def test_sign_up_order_retry_pay_ship_deliver_and_cancel(live_server: LiveServer) -> None:
    admin = log_in_admin(live_server)
    first = create_product(admin, stock=5, price="12900.00")
    second = create_product(admin, stock=3, price="4500.50")

    shopper = sign_up(live_server, name="김철수")
    me = shopper.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["name"] == "김철수"
    assert me.json()["email"] == shopper.user["email"].lower()

    listed = shopper.get("/api/products", params={"limit": 500})
    assert listed.status_code == 200
    ids = {row["id"] for row in listed.json()}
    assert {first["id"], second["id"]} <= ids
    assert int(listed.headers["X-Total-Count"]) >= 2

    key = secrets.token_hex(8)
    body = {
        "items": [
            {"productId": first["id"], "quantity": 2},
            {"productId": second["id"], "quantity": 1},
        ],
        "address": ADDRESS,
    }
    placed = shopper.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    assert placed.status_code == 201, placed.text
    answer = placed.json()
    assert answer["success"] is True and answer["orderId"] == answer["order"]["id"]
    assert answer["order"]["subtotal"] == "30300.50"  # 2 × 12900.00 + 4500.50
    assert answer["order"]["delivery_fee"] == "3000.00"  # under ₩50,000 of goods
    assert answer["order"]["total_amount"] == "33300.50"
    assert answer["order"]["address"]["postal_code"] == "06236"
    assert answer["order"]["status"] == "pending"

    retried = shopper.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 201
    assert retried.json() == answer
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert stock_of(shopper, first["id"]) == 3  # decremented once
    assert stock_of(shopper, second["id"]) == 2

    reused = shopper.post(
        "/api/orders",
        json={"items": [{"productId": first["id"], "quantity": 1}]},
        headers={"Idempotency-Key": key},
    )
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"

    order_id = answer["orderId"]
    declined = shopper.post(f"/api/orders/{order_id}/pay", json=card("4000 0000 0000 0002"))
    assert declined.status_code == 402
    assert declined.json()["error"]["details"]["reason"] == "card_declined"
    paid = shopper.post(f"/api/orders/{order_id}/pay", json=card())
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["status"] == "paid"
    assert paid.json()["payment"]["card_last4"] == "4242"
    assert paid.json()["payment"]["amount"] == "33300.50"
    again = shopper.post(f"/api/orders/{order_id}/pay", json=card("4242424242424242"))
    assert again.status_code == 409

    assert shopper.post(f"/api/admin/orders/{order_id}/ship", json=SHIPMENT).status_code == 403
    shipped = admin.post(f"/api/admin/orders/{order_id}/ship", json=SHIPMENT)
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    delivered = admin.post(f"/api/admin/orders/{order_id}/deliver")
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    assert shopper.get(f"/api/orders/{order_id}").json()["status"] == "delivered"
    assert admin.post(f"/api/admin/orders/{order_id}/ship", json=SHIPMENT).status_code == 409

    mine = shopper.get("/api/orders")
    assert [order["id"] for order in mine.json()] == [order_id]

    # Cancelling another pending order gives its units back exactly once.
    pending = shopper.post(
        "/api/orders", json={"items": [{"productId": first["id"], "quantity": 3}]}
    )
    assert pending.status_code == 201
    assert stock_of(shopper, first["id"]) == 0
    cancel_id = pending.json()["orderId"]
    cancelled = shopper.post(f"/api/orders/{cancel_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert stock_of(shopper, first["id"]) == 3
    twice = shopper.post(f"/api/orders/{cancel_id}/cancel")  # answered as it is, once
    assert twice.status_code == 200 and twice.json() == cancelled.json()
    assert stock_of(shopper, first["id"]) == 3


def test_the_guides_order_body_and_product_list_shape(live_server: LiveServer) -> None:
    admin = log_in_admin(live_server)
    product = create_product(admin, stock=10, price="5.25")
    shopper = sign_up(live_server)

    rows = shopper.http.get("/api/products", params={"limit": 500}).json()
    row = next(row for row in rows if row["id"] == product["id"])
    assert {
        "id",
        "name",
        "price",
        "description",
        "image_url",
        "stock_quantity",
        "created_at",
    } <= set(row)

    guide_body = {
        "userId": shopper.user["id"],
        "products": [product["id"], product["id"]],
        "totalAmount": 10.5,
    }
    placed = shopper.post("/api/orders", json=guide_body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["success"] is True
    assert placed.json()["order"]["lines"][0]["quantity"] == 2
    # Its totalAmount is the goods'; the order adds the fee and waits for its address.
    order = placed.json()["order"]
    assert (order["subtotal"], order["delivery_fee"], order["total_amount"]) == (
        "10.50",
        "3000.00",
        "3010.50",
    )
    assert order["address"] is None and order["status"] == "pending"

    wrong_total = shopper.post("/api/orders", json={**guide_body, "totalAmount": 9.99})
    assert wrong_total.status_code == 409
    assert wrong_total.json()["error"]["details"]["currentTotal"] == "10.50"

    someone_else = shopper.post(
        "/api/orders", json={**guide_body, "userId": shopper.user["id"] + 1000}
    )
    assert someone_else.status_code == 403


def test_the_staff_overview_counts_a_paid_order_and_shows_low_stock(
    live_server: LiveServer,
) -> None:
    admin = log_in_admin(live_server)
    last = create_product(admin, stock=1)
    shopper = sign_up(live_server)
    body = {"items": [{"productId": last["id"], "quantity": 1}], "address": ADDRESS}
    order_id = shopper.post("/api/orders", json=body).json()["orderId"]
    assert shopper.post(f"/api/orders/{order_id}/pay", json=card()).status_code == 200

    assert shopper.get("/api/admin/overview").status_code == 403
    seen = admin.get("/api/admin/overview")
    assert seen.status_code == 200, seen.text
    overview = seen.json()
    assert overview["orders_today"] >= 1 and overview["orders_to_ship"] >= 1
    assert last["id"] in [row["id"] for row in overview["low_stock"]]
