"""The storefront and admin pages in a real browser (system Chromium) against a real server."""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PHONE, ConsoleGuard, PageFactory, screenshot
from tests.e2e.browser.flows import (
    add_to_cart,
    buy_two_products,
    fill_address,
    go_to_checkout,
    log_in,
)
from tests.e2e.client import Shopper, create_product, log_in_admin, sign_up
from tests.support import ADDRESS, ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, card


def png(color: tuple[int, int, int], label: str = "") -> bytes:
    """A small product picture drawn by the test."""
    image = Image.new("RGB", (480, 480), color)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((110, 110, 370, 370), radius=40, fill=(255, 255, 255))
    draw.ellipse((180, 180, 300, 300), fill=color)
    if label:
        draw.text((24, 440), label, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def attach_image(admin: Shopper, product: dict[str, Any], color: tuple[int, int, int]) -> None:
    answer = admin.put(
        f"/api/products/{product['id']}/image",
        files={"file": ("picture.png", png(color, product["name"]), "image/png")},
    )
    assert answer.status_code == 200, answer.text


def product_in(admin: Shopper, category: str, name: str, price: str, stock: int) -> dict[str, Any]:
    answer = admin.post(
        "/api/products",
        json={
            "name": name,
            "price": price,
            "description": "브라우저 테스트 상품. Made by a browser test.",
            "category": category,
            "stock_quantity": stock,
        },
    )
    assert answer.status_code == 201, answer.text
    product: dict[str, Any] = answer.json()
    return product


def test_buy_two_products_as_a_new_user(shop: LiveServer, page: Page, guard: ConsoleGuard) -> None:
    guard.allow_status(402)  # the declined card, shown to the shopper in words
    admin = log_in_admin(shop)
    tag = secrets.token_hex(3)
    first = create_product(admin, stock=5, price="12900.00", name=f"머그컵 {tag}")
    second = create_product(admin, stock=3, price="4500.00", name=f"텀블러 {tag}")
    attach_image(admin, first, (99, 102, 241))

    buy_two_products(page, shop.url, first, second, total="33,300원")  # 30,300원 + 3,000원
    screenshot(page, "purchase-my-orders")
    assert admin.get(f"/api/products/{first['id']}").json()["stock_quantity"] == 3


def test_out_of_stock_when_another_buyer_takes_the_last_unit(
    shop: LiveServer, page: Page, guard: ConsoleGuard
) -> None:
    guard.allow_status(409)  # the sold-out answer, shown to the shopper in words
    admin = log_in_admin(shop)
    last = create_product(
        admin, stock=1, price="9900.00", name=f"마지막 한정판 {secrets.token_hex(3)}"
    )
    shopper = sign_up(shop, name="느린 고객")

    add_to_cart(page, shop.url, last)
    go_to_checkout(page)
    log_in(page, shopper.user["email"])
    expect(page.locator("#checkout-total")).to_have_text("12,900원")  # and 3,000원 delivery
    fill_address(page)

    rival = sign_up(shop, name="빠른 고객")
    taken = rival.post("/api/orders", json={"items": [{"productId": last["id"], "quantity": 1}]})
    assert taken.status_code == 201, taken.text

    page.locator("#place-order").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"‘{last['name']}’ 상품이 품절되었습니다")
    expect(alert).to_contain_text("남은 재고 0개")
    expect(page.get_by_role("link", name="장바구니 고치기").first).to_be_visible()
    screenshot(page, "out-of-stock")
    assert shopper.get("/api/orders").json() == []


def shop_overview_lake(shop: LiveServer) -> dict[str, object]:
    """The lake's headline as the API gives it to staff (the page must show the same)."""
    lake = log_in_admin(shop).get("/api/admin/overview").json()["lake"]
    assert lake is not None and isinstance(lake["orders"], int)
    return dict(lake)


def test_admin_creates_a_product_with_an_image_and_shoppers_see_it(
    shop: LiveServer, page: Page, tmp_path: Path
) -> None:
    picture = tmp_path / "new-product.png"
    picture.write_bytes(png((236, 72, 153), "new"))
    name = f"관리자 등록 상품 {secrets.token_hex(3)}"
    gifts = f"선물 {secrets.token_hex(2)}"
    made = log_in_admin(shop).post(
        "/api/admin/categories", json={"name": gifts, "name_en": f"Gifts {gifts[-4:]}"}
    )
    assert made.status_code == 201, made.text

    page.goto(f"{shop.url}/#/login")
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("navigation", name="주요 메뉴").get_by_role("link", name="관리자").click()
    expect(page.locator("#stat-orders")).to_be_visible()
    lake = shop_overview_lake(shop)
    expect(page.locator("#lake-orders")).to_have_text(str(lake["orders"]))
    page.get_by_role("navigation", name="관리 메뉴").get_by_role("link", name="상품 관리").click()
    page.get_by_role("link", name="상품 등록").click()

    expect(page.get_by_role("heading", name="상품 등록", level=1)).to_be_visible()
    page.get_by_label("상품명", exact=True).fill(name)
    page.get_by_label("가격 (원)").fill("15900")
    page.get_by_label("재고", exact=True).fill("7")
    page.get_by_label("카테고리").select_option(label=gifts)
    page.get_by_label("설명", exact=True).fill("관리자가 브라우저에서 등록한 상품입니다.")
    page.get_by_label("상품 이미지").set_input_files(str(picture))
    preview = page.locator("#image-preview")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    screenshot(page, "admin-new-product")
    page.get_by_role("button", name="상품 등록").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"상품 수정 #\d+"))
    expect(page.locator(".image-preview img")).to_have_attribute("src", re.compile(r"/media/"))
    product_id = int(re.findall(r"\d+", page.get_by_role("heading", level=1).inner_text())[0])

    # Stock edits from the products list.
    page.get_by_role("navigation", name="관리 메뉴").get_by_role("link", name="상품 관리").click()
    row = page.locator(f'tr[data-product-id="{product_id}"]')
    row.get_by_label(f"{name} 재고").fill("12")
    row.get_by_role("button", name="재고 저장").click()
    expect(page.locator("#toast")).to_contain_text("저장했습니다")

    page.get_by_role("link", name="cloudmall").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("오늘의 상품")
    page.get_by_role("searchbox", name="상품 검색").fill(name)
    page.keyboard.press("Enter")
    card = page.locator(f'li.card[data-product-id="{product_id}"]')
    expect(card).to_contain_text(name)
    expect(card).to_contain_text("15,900원")
    thumbnail = card.get_by_role("img", name=name)
    expect(thumbnail).to_have_attribute("src", re.compile(r"/media/thumbs/"))
    expect(thumbnail).to_have_attribute("loading", "lazy")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_text("재고 있음")).to_be_visible()
    screenshot(page, "admin-product-in-shop")


def test_admin_marks_an_order_shipped_and_the_customer_sees_it(
    shop: LiveServer, new_page: PageFactory
) -> None:
    admin = log_in_admin(shop)
    item = create_product(
        admin, stock=4, price="25000.00", name=f"배송 테스트 {secrets.token_hex(3)}"
    )
    customer = sign_up(shop, name="배송 고객")
    placed = customer.post(
        "/api/orders",
        json={"items": [{"productId": item["id"], "quantity": 1}], "address": ADDRESS},
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["orderId"]
    paid = customer.post(f"/api/orders/{order_id}/pay", json=card("4242424242424242"))
    assert paid.status_code == 200, paid.text

    shopper_page = new_page()
    shopper_page.goto(f"{shop.url}/#/login?next=/orders")
    log_in(shopper_page, customer.user["email"])
    mine = shopper_page.locator(f'li[data-order-id="{order_id}"] .status')
    expect(mine).to_have_text("결제 완료")
    # A customer who wanders into the admin pages is told they are for staff.
    shopper_page.goto(f"{shop.url}/#/admin/orders")
    expect(shopper_page.get_by_text("관리자만 볼 수 있는 페이지입니다")).to_be_visible()

    admin_page = new_page()
    admin_page.goto(f"{shop.url}/#/login?next=/admin/orders")
    log_in(admin_page, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin_page.get_by_label("주문 상태").select_option("paid")
    paid_orders = admin_page.locator('.admin-orders[data-filter="paid"]')
    row = paid_orders.locator(f'tr[data-order-id="{order_id}"]')
    expect(row.locator(".status")).to_have_text("결제 완료")
    row.get_by_role("button", name="발송 처리").click()
    dialog = admin_page.get_by_role("dialog")
    dialog.get_by_label("택배사").select_option(label="한진택배")
    dialog.get_by_label("운송장 번호").fill("4123-5678-9012")
    screenshot(admin_page, "admin-ship-dialog")
    dialog.get_by_role("button", name="발송 처리").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".status")).to_have_text("배송 중")
    expect(row.get_by_role("button", name="배송 완료 처리")).to_be_visible()
    expect(admin_page.locator("#toast")).to_contain_text(f"주문 #{order_id}")
    screenshot(admin_page, "admin-orders-shipped")

    shopper_page.get_by_role("navigation", name="주요 메뉴").get_by_role(
        "link", name="내 주문"
    ).click()
    expect(mine).to_have_text("배송 중")
    shopper_page.locator(f'li[data-order-id="{order_id}"]').get_by_role("link").first.click()
    expect(shopper_page.locator("#order-status")).to_have_text("배송 중")
    expect(shopper_page.locator("#order-carrier")).to_have_text("한진택배")
    expect(shopper_page.locator("#order-tracking")).to_have_text("4123-5678-9012")
    expect(shopper_page.locator("#order-address")).to_contain_text(
        "(06236) 서울 강남구 테헤란로 152"
    )
    screenshot(shopper_page, "customer-sees-shipped")
    seen = customer.get(f"/api/orders/{order_id}").json()["shipment"]
    assert (seen["carrier"]["code"], seen["tracking_number"]) == ("hanjin", "4123-5678-9012")


def test_switch_language_and_remember_it(shop: LiveServer, page: Page) -> None:
    admin = log_in_admin(shop)
    create_product(admin, stock=2, price="1234500.00", name=f"언어 {secrets.token_hex(3)}")
    page.goto(f"{shop.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", level=1)).to_have_text("오늘의 상품")

    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today's picks")
    expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    expect(page.get_by_role("button", name="한국어로 보기")).to_be_focused()
    expect(page.get_by_text("₩1,234,500").first).to_be_visible()
    screenshot(page, "language-english")

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Today's picks")
    # Keyboard: the first Tab reaches the skip link, which moves focus to the page's heading.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert page.url.endswith("/") or page.url.endswith("#/")
    page.get_by_role("button", name="한국어로 보기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("오늘의 상품")
    expect(page.locator("html")).to_have_attribute("lang", "ko")


def test_home_page_grid_filters_and_pages_at_phone_and_desktop_widths(
    shop: LiveServer, new_page: PageFactory
) -> None:
    admin = log_in_admin(shop)
    tag = secrets.token_hex(2)
    made_category = admin.post(
        "/api/admin/categories", json={"name": f"홈 {tag}", "name_en": f"Home {tag}"}
    )
    assert made_category.status_code == 201, made_category.text
    category = made_category.json()["slug"]
    palette = [(99, 102, 241), (236, 72, 153), (16, 185, 129), (245, 158, 11), (59, 130, 246)]
    for number in range(14):
        made = product_in(
            admin,
            category,
            f"홈 화면 상품 {number + 1:02d}",
            f"{(number + 1) * 1000}.00",
            number % 4,
        )
        attach_image(admin, made, palette[number % len(palette)])

    desktop = new_page()
    desktop.goto(f"{shop.url}/")
    chips = desktop.get_by_role("navigation", name="카테고리")
    chips.get_by_role("link", name=f"홈 {tag}").click()
    expect(desktop.locator("#result-count")).to_have_text("상품 14개")
    cards = desktop.locator("li.card")
    expect(cards).to_have_count(12)
    first_image = cards.first.get_by_role("img")
    expect(first_image).to_have_attribute("width", "400")
    expect(first_image).to_have_attribute("height", "400")
    expect(cards.filter(has_text="품절").first).to_be_visible()
    screenshot(desktop, "home-desktop")

    desktop.get_by_role("link", name="다음").click()
    expect(desktop.get_by_text("2 / 2 페이지")).to_be_visible()
    expect(cards).to_have_count(2)
    desktop.get_by_label("정렬").select_option("-price")
    expect(cards.first).to_contain_text("홈 화면 상품 14")

    phone = new_page(PHONE)
    phone.goto(f"{shop.url}/#/?category={category}")
    expect(phone.locator("li.card")).to_have_count(12)
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the phone layout scrolls sideways by {overflow}px"
    screenshot(phone, "home-phone")
    screenshot(phone, "home-phone-full", full_page=True)


def test_an_expired_session_asks_to_log_in_again(
    shop: LiveServer, page: Page, guard: ConsoleGuard
) -> None:
    guard.allow_status(401)  # the refused token and refresh, turned into "log in again"
    customer = sign_up(shop, name="만료 고객")
    page.goto(f"{shop.url}/#/login?next=/orders")
    log_in(page, customer.user["email"])
    expect(page.get_by_role("heading", name="내 주문", level=1)).to_be_visible()
    page.evaluate(
        """() => {
            const session = JSON.parse(localStorage.getItem("cloudmall.session"));
            session.token = "expired.or.revoked";
            localStorage.setItem("cloudmall.session", JSON.stringify(session));
        }"""
    )
    page.context.clear_cookies()  # the session's refresh cookie is gone too: nothing renews it
    page.reload()
    expect(page.get_by_role("heading", name="로그인", level=1)).to_be_visible()
    expect(page.locator("#toast")).to_contain_text("세션이 만료되었습니다")
    log_in(page, customer.user["email"])
    expect(page.get_by_role("heading", name="내 주문", level=1)).to_be_visible()
    screenshot(page, "session-expired-logged-in-again")


def test_a_price_change_shows_the_new_total_and_asks_to_confirm(
    shop: LiveServer, page: Page, guard: ConsoleGuard
) -> None:
    guard.allow_status(409)  # the server's "total has changed", shown with the new total
    admin = log_in_admin(shop)
    item = create_product(
        admin, stock=5, price="10000.00", name=f"가격 변경 {secrets.token_hex(3)}"
    )
    shopper = sign_up(shop, name="가격 고객")

    add_to_cart(page, shop.url, item, quantity=2)
    go_to_checkout(page)
    log_in(page, shopper.user["email"])
    expect(page.locator("#checkout-total")).to_have_text("23,000원")  # 20,000원 + 3,000원
    fill_address(page)

    changed = admin.patch(f"/api/products/{item['id']}", json={"price": "12500.00"})
    assert changed.status_code == 200, changed.text
    page.locator("#place-order").click()
    expect(page.get_by_role("alert")).to_contain_text("가격이 바뀌었습니다. 새 합계는 28,000원")
    expect(page.locator("#checkout-total")).to_have_text("28,000원")
    expect(page.locator("#place-order")).to_be_hidden()
    screenshot(page, "price-changed")
    page.get_by_role("button", name="28,000원으로 주문하기").click()

    expect(page.get_by_text("주문이 접수되었습니다")).to_be_visible()
    expect(page.locator("#order-total")).to_have_text("28,000원")
    orders = shopper.get("/api/orders").json()
    assert [order["total_amount"] for order in orders] == ["28000.00"]


def test_network_down_is_explained_and_retry_recovers(
    shop: LiveServer, page: Page, guard: ConsoleGuard
) -> None:
    guard.allow_network_failures()  # requests this test cuts off on purpose
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{shop.url}/")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("쇼핑몰 서버에 연결할 수 없습니다")
    screenshot(page, "network-down")
    page.unroute("**/api/**")
    alert.get_by_role("button", name="다시 시도").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("오늘의 상품")
