"""Delivery and refunds in a real browser, in Korean at 1280 px and in English at 390 px:
checkout with the saved address and the delivery fee shown before paying, cancelling a paid
order (refunded, its stock back), and a staff shipment the customer sees with its carrier."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PageFactory, screenshot
from tests.e2e.browser.flows import PASSWORD, log_in, pay
from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import ADDRESS, ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, card

PHONE_390 = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
#: (language, viewport): Korean on a desktop, English on a phone.
LOOKS = [("ko", DESKTOP), ("en", PHONE_390)]
WORDS = {
    "ko": {
        "checkout": "주문 확인",
        "paid": "결제 완료",
        "cancelled": "취소됨",
        "carrier": "CJ대한통운",
        "free": "무료",
        "won": "{:,}원",
    },
    "en": {
        "checkout": "Review your order",
        "paid": "Paid",
        "cancelled": "Cancelled",
        "carrier": "CJ Logistics",
        "free": "Free",
        "won": "₩{:,}",
    },
}


BAD_TRACKING = {"ko": "운송장 번호는", "en": "A tracking number is"}


def open_in(new_page: PageFactory, base_url: str, lang: str, viewport: dict[str, int]) -> Page:
    page = new_page(viewport)
    page.add_init_script(f"localStorage.setItem('cloudmall.lang', '{lang}')")
    page.goto(f"{base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    return page


def log_in_as(
    page: Page, base_url: str, email: str, next_path: str, password: str = PASSWORD
) -> None:
    """Log in with the form (whatever the page's language), then land on `next_path`."""
    page.goto(f"{base_url}/#/login?next={next_path}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form.auth-form button[type=submit]").click()


@pytest.mark.parametrize(("lang", "viewport"), LOOKS, ids=["ko-1280", "en-390"])
def test_checkout_prefills_the_default_address_and_shows_the_fee_before_paying(
    shop: LiveServer, new_page: PageFactory, lang: str, viewport: dict[str, int]
) -> None:
    admin = log_in_admin(shop)
    item = create_product(admin, stock=5, price="12000.00", name=f"배송비 {secrets.token_hex(3)}")
    customer = sign_up(shop, name="주소 고객")
    office = {**ADDRESS, "address1": "서울 중구 세종대로 110", "address2": "3층"}
    saved = customer.post("/api/account/addresses", json=office)
    assert saved.status_code == 201, saved.text

    page = open_in(new_page, shop.url, lang, viewport)
    log_in_as(page, shop.url, customer.user["email"], "/")
    page.wait_for_url(f"{shop.url}/#/")
    page.evaluate(
        "([id, name]) => localStorage.setItem('cloudmall.cart', JSON.stringify("
        "[{productId: id, name, price: '12000.00', quantity: 2, stock: 5}]))",
        [item["id"], item["name"]],
    )
    page.goto(f"{shop.url}/#/checkout")
    expect(page.get_by_role("heading", level=1)).to_have_text(WORDS[lang]["checkout"])
    expect(page.locator("#ship-address1")).to_have_value("서울 중구 세종대로 110")
    expect(page.locator("#ship-address2")).to_have_value("3층")
    expect(page.locator("#checkout-subtotal")).to_have_text(WORDS[lang]["won"].format(24000))
    expect(page.locator("#checkout-fee")).to_have_text(WORDS[lang]["won"].format(3000))
    expect(page.locator("#checkout-total")).to_have_text(WORDS[lang]["won"].format(27000))
    screenshot(page, f"checkout-delivery-{lang}-{viewport['width']}")
    page.locator("#place-order").click()

    expect(page.locator("#order-total")).to_have_text(WORDS[lang]["won"].format(27000))
    expect(page.locator("#order-fee")).to_have_text(WORDS[lang]["won"].format(3000))
    pay(page, "4242 4242 4242 4242")
    expect(page.locator("#order-status")).to_have_text(WORDS[lang]["paid"])
    expect(page.locator("#order-address")).to_contain_text("(06236) 서울 중구 세종대로 110 3층")
    [order] = customer.get("/api/orders").json()
    assert (order["subtotal"], order["delivery_fee"], order["total_amount"]) == (
        "24000.00",
        "3000.00",
        "27000.00",
    )
    assert order["address"]["address1"] == "서울 중구 세종대로 110"
    [payment] = customer.get(f"/api/orders/{order['id']}/payments").json()
    assert (payment["amount"], payment["status"]) == ("27000.00", "captured")


@pytest.mark.parametrize(("lang", "viewport"), LOOKS, ids=["ko-1280", "en-390"])
def test_a_paid_order_is_cancelled_and_refunded_after_a_confirmation(
    shop: LiveServer, new_page: PageFactory, lang: str, viewport: dict[str, int]
) -> None:
    admin = log_in_admin(shop)
    item = create_product(admin, stock=3, price="60000.00", name=f"환불 {secrets.token_hex(3)}")
    customer = sign_up(shop, name="환불 고객")
    body = {"items": [{"productId": item["id"], "quantity": 2}], "address": ADDRESS}
    order_id = customer.post("/api/orders", json=body).json()["orderId"]
    assert customer.post(f"/api/orders/{order_id}/pay", json=card()).status_code == 200
    assert admin.get(f"/api/products/{item['id']}").json()["stock_quantity"] == 1

    page = open_in(new_page, shop.url, lang, viewport)
    log_in_as(page, shop.url, customer.user["email"], f"/orders/{order_id}")
    expect(page.locator("#order-status")).to_have_text(WORDS[lang]["paid"])
    expect(page.locator("#order-fee")).to_have_text(WORDS[lang]["free"])  # from ₩50,000 of goods
    cancel = page.locator("#cancel-order")
    cancel.click()
    expect(page.get_by_role("status").filter(has_text="?")).to_be_visible()  # asks first
    assert customer.get(f"/api/orders/{order_id}").json()["status"] == "paid"
    screenshot(page, f"refund-confirm-{lang}-{viewport['width']}")
    cancel.click()
    expect(page.locator("#order-status")).to_have_text(WORDS[lang]["cancelled"])

    assert admin.get(f"/api/products/{item['id']}").json()["stock_quantity"] == 3
    [payment] = customer.get(f"/api/orders/{order_id}/payments").json()
    assert (payment["status"], payment["amount"]) == ("refunded", "120000.00")
    again = customer.post(f"/api/orders/{order_id}/cancel")  # asking again refunds nothing more
    assert again.status_code == 200
    assert admin.get(f"/api/products/{item['id']}").json()["stock_quantity"] == 3


@pytest.mark.parametrize(("lang", "viewport"), LOOKS, ids=["ko-1280", "en-390"])
def test_staff_ship_with_carrier_and_tracking_and_the_customer_sees_them(
    shop: LiveServer,
    new_page: PageFactory,
    lang: str,
    viewport: dict[str, int],
) -> None:
    admin = log_in_admin(shop)
    item = create_product(admin, stock=3, price="9000.00", name=f"발송 {secrets.token_hex(3)}")
    customer = sign_up(shop, name="발송 고객")
    body = {"items": [{"productId": item["id"], "quantity": 1}], "address": ADDRESS}
    order_id = customer.post("/api/orders", json=body).json()["orderId"]
    assert customer.post(f"/api/orders/{order_id}/pay", json=card()).status_code == 200

    staff = open_in(new_page, shop.url, lang, viewport)
    log_in_as(staff, shop.url, ADMIN_EMAIL, "/admin/orders?status=paid", ADMIN_PASSWORD)
    row = staff.locator(f'tr[data-order-id="{order_id}"]')
    expect(row).to_contain_text(ADDRESS["recipient"])  # whom it goes to, not an account number
    row.locator("button").first.click()
    dialog = staff.get_by_role("dialog")
    dialog.locator("#ship-carrier").select_option("cj")
    dialog.locator("#ship-tracking").fill("12 34")  # not a tracking number: said in words
    dialog.locator("button[type=submit]").click()
    expect(dialog.get_by_role("alert")).to_contain_text(BAD_TRACKING[lang])
    dialog.locator("#ship-tracking").fill("6012-3456-7890")
    screenshot(staff, f"ship-dialog-{lang}-{viewport['width']}")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".status")).to_have_attribute("data-status", "shipped")

    shopper = open_in(new_page, shop.url, lang, viewport)
    log_in_as(shopper, shop.url, customer.user["email"], f"/orders/{order_id}")
    expect(shopper.locator("#order-carrier")).to_have_text(WORDS[lang]["carrier"])
    expect(shopper.locator("#order-tracking")).to_have_text("6012-3456-7890")
    screenshot(shopper, f"customer-shipment-{lang}-{viewport['width']}")


def test_the_address_book_page_adds_defaults_and_deletes(shop: LiveServer, page: Page) -> None:
    customer = sign_up(shop, name="주소록 고객")
    page.goto(f"{shop.url}/#/login?next=/account/addresses")
    log_in(page, customer.user["email"])
    expect(page.get_by_role("heading", name="배송지 관리", level=1)).to_be_visible()
    page.locator("#new-recipient").fill("김민지")
    page.locator("#new-phone").fill("010-1234-5678")
    page.locator("#new-postal").fill("0623")  # four digits: refused before sending
    page.locator("#new-address1").fill("서울 강남구 테헤란로 152")
    page.get_by_role("button", name="배송지 추가").click()
    expect(page.get_by_role("alert")).to_contain_text("우편번호는 숫자 5자리")
    page.locator("#new-postal").fill("06236")
    page.get_by_role("button", name="배송지 추가").click()
    expect(page.locator("li.address-card")).to_have_count(1)
    page.locator("#new-recipient").fill("이서준")
    page.locator("#new-phone").fill("02-123-4567")
    page.locator("#new-postal").fill("04524")
    page.locator("#new-address1").fill("서울 중구 세종대로 110")
    page.get_by_role("button", name="배송지 추가").click()
    expect(page.locator("li.address-card")).to_have_count(2)
    second = page.locator("li.address-card", has_text="이서준")
    second.get_by_role("button", name="기본으로 정하기").click()
    expect(page.locator("li.address-card").first).to_contain_text("이서준")
    page.locator("li.address-card", has_text="김민지").get_by_role("button", name="삭제").click()
    expect(page.locator("li.address-card")).to_have_count(1)
    book = customer.get("/api/account/addresses").json()
    assert [(a["recipient"], a["is_default"]) for a in book] == [("이서준", True)]
    screenshot(page, "address-book")
