"""Delivery and refunds over HTTP, against a real server process per backend: the address book,
an order's address pending then given, the fee quoted and charged, a shipment with its carrier
and tracking number, and a paid order cancelled (refunded once, its units back once)."""

from __future__ import annotations

from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import ADDRESS, SHIPMENT, LiveServer, card


def test_an_order_without_an_address_waits_for_one_before_paying(live_server: LiveServer) -> None:
    admin = log_in_admin(live_server)
    product = create_product(admin, stock=5, price="20000.00")
    shopper = sign_up(live_server)
    placed = shopper.post(
        "/api/orders", json={"items": [{"productId": product["id"], "quantity": 1}]}
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["orderId"]
    assert placed.json()["order"]["address"] is None

    refused = shopper.post(f"/api/orders/{order_id}/pay", json=card())
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "address_required"
    not_shipped = admin.post(f"/api/admin/orders/{order_id}/ship", json=SHIPMENT)
    assert not_shipped.status_code in (409, 422)  # not paid (and no address)

    bad = shopper.put(f"/api/orders/{order_id}/address", json={**ADDRESS, "postalCode": "1234"})
    assert bad.status_code == 422
    others = sign_up(live_server).put(f"/api/orders/{order_id}/address", json=ADDRESS)
    assert others.status_code == 404
    given = shopper.put(f"/api/orders/{order_id}/address", json=ADDRESS)
    assert given.status_code == 200, given.text
    assert given.json()["address"]["recipient"] == "김민지"
    paid = shopper.post(f"/api/orders/{order_id}/pay", json=card())
    assert paid.status_code == 200, paid.text
    assert paid.json()["payment"]["amount"] == "23000.00"  # ₩20,000 of goods + ₩3,000 fee


def test_each_card_refusal_has_its_code(live_server: LiveServer) -> None:
    admin = log_in_admin(live_server)
    product = create_product(admin, stock=5)
    shopper = sign_up(live_server)
    body = {"items": [{"productId": product["id"], "quantity": 1}], "address": ADDRESS}
    order_id = shopper.post("/api/orders", json=body).json()["orderId"]
    for sent, reason in [
        ({"cardNumber": "4242 4242 4242 4241"}, "invalid_number"),
        ({"expiry": "13/30"}, "invalid_expiry"),
        ({"expiry": "01/20"}, "expired_card"),
        ({"cvc": "12"}, "invalid_cvc"),
    ]:
        declined = shopper.post(f"/api/orders/{order_id}/pay", json={**card(), **sent})
        assert declined.status_code == 402, declined.text
        assert declined.json()["error"]["details"]["reason"] == reason
    missing = shopper.post(f"/api/orders/{order_id}/pay", json={"cardNumber": "4242424242424242"})
    assert missing.status_code == 422  # expiry and CVC are required


def test_address_book_quote_and_an_order_keeping_its_copy(live_server: LiveServer) -> None:
    admin = log_in_admin(live_server)
    product = create_product(admin, stock=10, price="12500.00")
    shopper = sign_up(live_server)
    assert shopper.get("/api/account/addresses").json() == []
    home = shopper.post("/api/account/addresses", json=ADDRESS)
    assert home.status_code == 201, home.text
    assert home.json()["is_default"] is True
    office = shopper.post(
        "/api/account/addresses",
        json={**ADDRESS, "address1": "서울 중구 세종대로 110", "makeDefault": True},
    )
    listed = shopper.get("/api/account/addresses").json()
    assert [(a["id"], a["is_default"]) for a in listed] == [
        (office.json()["id"], True),
        (home.json()["id"], False),
    ]
    made = shopper.put(f"/api/account/addresses/{home.json()['id']}/default")
    assert made.status_code == 200 and made.json()["is_default"] is True

    items = [{"productId": product["id"], "quantity": 3}]
    quote = shopper.post("/api/delivery/quote", json={"items": items})
    assert quote.json() == {"subtotal": "37500.00", "deliveryFee": "3000.00", "total": "40500.00"}
    free = shopper.post("/api/delivery/quote", json={"items": [{**items[0], "quantity": 4}]})
    assert free.json()["deliveryFee"] == "0.00"

    placed = shopper.post(
        "/api/orders",
        json={"items": items, "addressId": office.json()["id"], "totalAmount": "37500"},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    assert order["total_amount"] == quote.json()["total"]
    assert order["address"]["address1"] == "서울 중구 세종대로 110"
    deleted = shopper.http.delete(
        f"/api/account/addresses/{office.json()['id']}", headers=shopper.headers
    )
    assert deleted.status_code == 204
    kept = shopper.get(f"/api/orders/{order['id']}").json()
    assert kept["address"]["address1"] == "서울 중구 세종대로 110"  # a copy, not a reference
    stranger = sign_up(live_server)
    theirs = stranger.post("/api/orders", json={"items": items, "addressId": home.json()["id"]})
    assert theirs.status_code == 404


def test_a_shipment_and_a_refund_as_the_customer_sees_them(live_server: LiveServer) -> None:
    admin = log_in_admin(live_server)
    product = create_product(admin, stock=4, price="30000.00")
    shopper = sign_up(live_server)
    body = {"items": [{"productId": product["id"], "quantity": 2}], "address": ADDRESS}

    shipped_id = shopper.post("/api/orders", json=body).json()["orderId"]
    assert shopper.post(f"/api/orders/{shipped_id}/pay", json=card()).status_code == 200
    unknown = admin.post(
        f"/api/admin/orders/{shipped_id}/ship", json={**SHIPMENT, "carrier": "dhl"}
    )
    assert unknown.status_code == 422
    shipped = admin.post(f"/api/admin/orders/{shipped_id}/ship", json=SHIPMENT)
    assert shipped.status_code == 200, shipped.text
    seen = shopper.get(f"/api/orders/{shipped_id}").json()
    assert seen["shipment"] == {
        "carrier": {"code": "cj", "name_ko": "CJ대한통운", "name_en": "CJ Logistics"},
        "tracking_number": "6012-3456-7890",
    }
    assert shopper.post(f"/api/orders/{shipped_id}/cancel").status_code == 409  # on its way
    assert admin.post(f"/api/admin/orders/{shipped_id}/refund").status_code == 409

    refund_id = shopper.post("/api/orders", json=body).json()["orderId"]
    assert shopper.get(f"/api/products/{product['id']}").json()["stock_quantity"] == 0
    assert shopper.post(f"/api/orders/{refund_id}/pay", json=card()).status_code == 200
    cancelled = shopper.post(f"/api/orders/{refund_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = shopper.post(f"/api/orders/{refund_id}/cancel")
    by_staff = admin.post(f"/api/admin/orders/{refund_id}/refund")
    assert again.json() == by_staff.json() == cancelled.json()
    assert shopper.get(f"/api/products/{product['id']}").json()["stock_quantity"] == 2
    payments = shopper.get(f"/api/orders/{refund_id}/payments").json()
    assert [(p["status"], p["amount"]) for p in payments] == [("refunded", "60000.00")]
    carriers = shopper.http.get("/api/delivery/carriers").json()
    assert [c["name_ko"] for c in carriers][:2] == ["CJ대한통운", "한진택배"]
