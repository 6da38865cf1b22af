"""What a shopper does in the storefront, step by step, shared by the browser tests."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.sync_api import Page, expect

PASSWORD = "a long enough passphrase"


def add_to_cart(page: Page, base_url: str, product: dict[str, Any], quantity: int = 1) -> None:
    """Find the product with the search box, open its page and put `quantity` in the cart."""
    page.goto(f"{base_url}/#/")
    page.get_by_role("searchbox", name="상품 검색").fill(product["name"])
    page.get_by_role("button", name="검색", exact=True).click()
    card = page.locator(f'li.card[data-product-id="{product["id"]}"]')
    expect(card).to_be_visible()
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    page.get_by_label("수량").fill(str(quantity))
    page.get_by_role("button", name="장바구니 담기", exact=True).click()
    expect(page.get_by_role("link", name="장바구니로 가기")).to_be_visible()


def sign_up_from_login(page: Page, name: str = "브라우저 고객") -> str:
    """On the log-in page the checkout sent us to: create an account instead; returns the email."""
    expect(page.get_by_role("heading", name="로그인", level=1)).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="회원가입").click()
    expect(page.get_by_role("heading", name="회원가입", level=1)).to_be_visible()
    email = f"browser-{secrets.token_hex(5)}@example.com"
    page.get_by_label("이름").fill(name)
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    agree_to_both(page)
    page.get_by_role("button", name="가입하기").click()
    return email


def agree_to_both(page: Page) -> None:
    """Tick the sign-up's two required agreements (privacy policy, terms of use)."""
    page.locator("#consent-privacy").check()
    page.locator("#consent-terms").check()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill in the log-in form that is on screen."""
    expect(page.get_by_role("heading", name="로그인", level=1)).to_be_visible()
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="로그인").click()


def go_to_checkout(page: Page) -> None:
    page.locator("#cart-link").click()
    expect(page.get_by_role("heading", name="장바구니", level=1)).to_be_visible()
    page.get_by_role("button", name="주문하기", exact=True).click()


def fill_address(page: Page) -> None:
    """Type the delivery address into the form on screen (Korean or English labels alike)."""
    page.locator("#ship-recipient").fill("김민지")
    page.locator("#ship-phone").fill("010-1234-5678")
    page.locator("#ship-postal").fill("06236")
    page.locator("#ship-address1").fill("서울 강남구 테헤란로 152")
    page.locator("#ship-address2").fill("12층")


def pay(page: Page, card_number: str, expiry: str = "12/49", cvc: str = "123") -> None:
    page.locator("#card-number").fill(card_number)
    page.locator("#card-expiry").fill(expiry)
    page.locator("#card-cvc").fill(cvc)
    page.locator("#pay-button").click()


def order_id_from_url(page: Page) -> int:
    page.wait_for_url(re.compile(r"#/orders/\d+"))
    found = re.search(r"#/orders/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def buy_two_products(
    page: Page, base_url: str, first: dict[str, Any], second: dict[str, Any], total: str
) -> int:
    """A new visitor buys 2 × first and 1 × second, signing up at checkout and giving the
    delivery address there; returns the order id. `total` is what is charged (with delivery).

    A declined card comes first: the page must say why, and the order stays payable.
    """
    add_to_cart(page, base_url, first, quantity=2)
    add_to_cart(page, base_url, second, quantity=1)
    expect(page.locator("#cart-link")).to_have_attribute("aria-label", "장바구니, 3개 상품")
    go_to_checkout(page)
    sign_up_from_login(page)

    expect(page.get_by_role("heading", name="주문 확인", level=1)).to_be_visible()
    expect(page.locator("#checkout-total")).to_have_text(total)
    fill_address(page)
    page.locator("#place-order").click()

    order_id = order_id_from_url(page)
    expect(page.get_by_text("주문이 접수되었습니다")).to_be_visible()
    expect(page.locator("#order-total")).to_have_text(total)
    expect(page.locator("#cart-link")).to_have_attribute("aria-label", "장바구니")

    pay(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_contain_text("카드사에서 승인을 거절했습니다")
    pay(page, "4242 4242 4242 4242")
    expect(page.get_by_text("결제가 완료되었습니다")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("결제 완료")

    page.get_by_role("navigation", name="주요 메뉴").get_by_role("link", name="내 주문").click()
    order = page.locator(f'li[data-order-id="{order_id}"]')
    expect(order).to_be_visible()
    expect(order.locator(".status")).to_have_text("결제 완료")
    expect(order).to_contain_text(total)
    return order_id
