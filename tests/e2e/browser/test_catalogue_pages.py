"""The catalogue's pages in Chromium: categories staff manage shown in both languages, sales and
sold-out products, a cart line over the stock, and the staff pages on a 390 px phone."""

from __future__ import annotations

import secrets
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PageFactory, screenshot
from tests.e2e.browser.flows import log_in
from tests.e2e.client import Shopper, log_in_admin
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

PHONE_390 = {"width": 390, "height": 844}


def made(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def new_category(admin: Shopper, name: str, name_en: str) -> dict[str, Any]:
    return made(admin.post("/api/admin/categories", json={"name": name, "name_en": name_en}))


def new_product(admin: Shopper, **fields: Any) -> dict[str, Any]:
    return made(admin.post("/api/products", json={"description": "브라우저 테스트", **fields}))


def sideways_overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def as_staff(page: Page, shop: LiveServer, path: str) -> None:
    page.goto(f"{shop.url}/#/login?next={path}")
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)


def test_a_category_staff_add_is_shown_in_both_languages(
    shop: LiveServer, new_page: PageFactory
) -> None:
    tag = secrets.token_hex(2)
    staff = new_page()
    as_staff(staff, shop, "/admin/categories")
    expect(staff.get_by_role("heading", name="카테고리 관리", level=1)).to_be_visible()
    staff.get_by_label("한국어 이름").first.fill(f"문구 {tag}")
    staff.get_by_label("영어 이름").first.fill(f"Stationery {tag}")
    staff.get_by_role("button", name="카테고리 추가").click()
    slug = f"stationery-{tag}"
    row = staff.locator(f'tr[data-slug="{slug}"]')
    expect(row).to_be_visible()
    expect(staff.locator("#toast")).to_contain_text("카테고리를 추가했습니다")
    expect(row.get_by_role("button", name="삭제")).to_be_enabled()  # empty: may be deleted

    admin = log_in_admin(shop)
    pen = new_product(
        admin,
        name=f"만년필 {tag}",
        name_en=f"Fountain pen {tag}",
        price="32000.00",
        category=slug,
        stock_quantity=9,
    )
    shopper = new_page()
    shopper.goto(f"{shop.url}/#/?category={slug}")
    expect(shopper.get_by_role("heading", level=1)).to_have_text(f"문구 {tag}")
    card = shopper.locator(f'li.card[data-product-id="{pen["id"]}"]')
    expect(card.locator(".card-category")).to_have_text(f"문구 {tag}")
    expect(card.locator(".card-title")).to_have_text(f"만년필 {tag}")
    expect(card).to_contain_text("32,000원")
    shopper.get_by_role("button", name="Switch to English").click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text(f"Stationery {tag}")
    expect(card.locator(".card-category")).to_have_text(f"Stationery {tag}")
    expect(card.locator(".card-title")).to_have_text(f"Fountain pen {tag}")
    expect(card).to_contain_text("₩32,000")
    expect(shopper.locator("#result-count")).to_have_text("1 product")  # singular

    # Renamed by staff: the shop shows the new names under the same link.
    staff.reload()
    row.get_by_label("영어 이름").fill(f"Writing {tag}")
    row.get_by_role("button", name="이름 바꾸기").click()
    expect(staff.locator("#toast")).to_contain_text("카테고리 이름을 바꿨습니다")
    expect(row.get_by_role("button", name="삭제")).to_be_disabled()  # a product is on sale in it
    shopper.reload()
    expect(card.locator(".card-category")).to_have_text(f"Writing {tag}")

    # Deleting a category with products on sale is refused, in words.
    refused = admin.delete(f"/api/admin/categories/{row.get_attribute('data-category-id')}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "category_not_empty"
    assert admin.delete(f"/api/products/{pen['id']}").status_code == 204
    staff.reload()
    delete = row.get_by_role("button", name="삭제")
    delete.click()
    row.get_by_role("button", name="정말 삭제").click()
    expect(staff.locator("#toast")).to_contain_text("카테고리를 삭제했습니다")
    expect(staff.locator(f'tr[data-slug="{slug}"]')).to_have_count(0)


def test_a_sale_and_a_sold_out_product_are_shown_as_such(
    shop: LiveServer, new_page: PageFactory
) -> None:
    admin = log_in_admin(shop)
    tag = secrets.token_hex(3)
    sale = new_product(
        admin, name=f"세일 머그 {tag}", price="20000", list_price="25000", stock_quantity=30
    )
    gone = new_product(admin, name=f"품절 텀블러 {tag}", price="18000", stock_quantity=0)
    page = new_page()
    page.goto(f"{shop.url}/#/?q={tag}")
    sale_card = page.locator(f'li.card[data-product-id="{sale["id"]}"]')
    expect(sale_card.locator(".price")).to_have_text("20,000원")
    expect(sale_card.locator("del.price-was")).to_contain_text("25,000원")
    expect(sale_card.locator(".price-off")).to_have_text("20% 할인")
    gone_card = page.locator(f'li.card[data-product-id="{gone["id"]}"]')
    expect(gone_card.locator(".badge-out")).to_have_text("품절")
    expect(gone_card.get_by_role("button")).to_be_disabled()
    screenshot(page, "sale-and-sold-out")

    sale_card.get_by_role("link").click()
    expect(page.locator(".price-tag .price-off")).to_have_text("20% 할인")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator(".price-tag .price")).to_have_text("₩20,000")
    expect(page.locator(".price-tag .price-off")).to_have_text("20% off")
    expect(page.locator(".price-tag del")).to_contain_text("₩25,000")


def test_a_cart_line_over_the_stock_says_how_many_are_left(
    shop: LiveServer, new_page: PageFactory
) -> None:
    admin = log_in_admin(shop)
    tag = secrets.token_hex(3)
    lamp = new_product(admin, name=f"무드등 {tag}", price="29000", stock_quantity=6)
    page = new_page()
    page.goto(f"{shop.url}/#/?q={tag}")
    card = page.locator(f'li.card[data-product-id="{lamp["id"]}"]')
    add = card.get_by_role("button", name=f"장바구니 담기: 무드등 {tag}")
    for _ in range(4):
        add.click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text("장바구니에 담았습니다")
    # The message does not sit on the button the shopper just pressed.
    button, message = add.bounding_box(), toast.bounding_box()
    assert button and message
    apart = (
        message["y"] + message["height"] <= button["y"]
        or button["y"] + button["height"] <= message["y"]
        or message["x"] + message["width"] <= button["x"]
        or button["x"] + button["width"] <= message["x"]
    )
    assert apart, (button, message)

    # Someone else buys: 2 are left. The cart reads the stock again and says so.
    changed = admin.patch(f"/api/products/{lamp['id']}", json={"stock_quantity": 2})
    assert changed.status_code == 200, changed.text
    page.wait_for_timeout(1600)  # past the moment a message still belongs to the next page
    page.locator("#cart-link").click()
    expect(toast).to_be_hidden()  # the catalogue's message was left behind with the catalogue
    line = page.locator(f'li.cart-line[data-product-id="{lamp["id"]}"]')
    expect(line.locator(".warning")).to_have_text("재고가 2개뿐입니다.")
    screenshot(page, "cart-over-stock")
    line.get_by_label(f"무드등 {tag} 수량").fill("2")
    line.get_by_label(f"무드등 {tag} 수량").dispatch_event("change")
    expect(line.locator(".warning")).to_have_count(0)


def test_staff_pages_fit_a_390_px_phone(shop: LiveServer, new_page: PageFactory) -> None:
    admin = log_in_admin(shop)
    tag = secrets.token_hex(3)
    slug = new_category(admin, f"아주 긴 이름의 카테고리 {tag}", f"Long named things {tag}")["slug"]
    new_product(
        admin,
        name=f"이름이 아주 긴 상품으로 줄바꿈을 확인합니다 {tag}",
        price="123456789",
        list_price="223456789",
        category=slug,
        stock_quantity=2,
    )
    page = new_page(PHONE_390)
    as_staff(page, shop, "/admin")
    for path, heading in (
        ("/admin", "관리자"),
        ("/admin/products", "상품 관리"),
        ("/admin/categories", "카테고리 관리"),
        ("/admin/orders", "주문 관리"),
        (f"/admin/products/{admin.get('/api/products?sort=newest&limit=1').json()[0]['id']}", ""),
    ):
        page.goto(f"{shop.url}/#{path}")
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        else:
            expect(page.get_by_role("heading", level=1)).to_contain_text("상품 수정")
        page.wait_for_load_state("networkidle")
        assert sideways_overflow(page) <= 0, f"{path} scrolls sideways at 390 px"
        rows = page.locator("table.table-cards tbody tr")
        if rows.count():
            assert rows.first.evaluate("row => getComputedStyle(row).display") == "block"
            assert page.locator("table.table-cards thead").first.bounding_box()["height"] <= 1  # type: ignore[index]
        screenshot(page, f"phone-390{path.replace('/', '-')}")
    # Every page of the shop names its icon, and the icon is there.
    assert page.locator('link[rel="icon"]').get_attribute("href") == "favicon.svg"
    icon = page.request.get(f"{shop.url}/favicon.svg")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
