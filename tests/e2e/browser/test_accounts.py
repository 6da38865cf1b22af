"""Accounts in the storefront (Chromium; Korean and English; 1280 and 390 px wide): consent at
sign-up, a session that outlives its access token and a reload, the account page, the footer with
the business details on every page, and the terms and privacy pages."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import shop_env
from tests.e2e.browser.conftest import DESKTOP, ConsoleGuard, PageFactory, screenshot
from tests.e2e.browser.flows import PASSWORD, agree_to_both, log_in
from tests.e2e.client import sign_up
from tests.support import LiveServer, scratch_database, start_server, stop_server

PHONE_390 = {"width": 390, "height": 844}
ACCESS_TTL = 3  # seconds: the access token runs out during a test; the session does not


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A shop whose access tokens last seconds (`CLOUDMALL_TOKEN_TTL_SECONDS`)."""
    tmp_path = tmp_path_factory.mktemp("accounts-shop")
    with scratch_database("sqlite", tmp_path) as url:
        env = shop_env(url, tmp_path, CLOUDMALL_TOKEN_TTL_SECONDS=str(ACCESS_TTL))
        server = start_server(env, tmp_path)
        try:
            yield server
        finally:
            stop_server(server)


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize(
    ("lang", "viewport", "labels"),
    [
        ("ko", DESKTOP, ("이름", "이메일", "비밀번호", "가입하기", "필수 항목")),
        ("en", PHONE_390, ("Name", "Email", "Password", "Sign up", "Please agree")),
    ],
)
def test_sign_up_needs_both_agreements(
    shop: LiveServer,
    new_page: PageFactory,
    guard: ConsoleGuard,
    lang: str,
    viewport: dict[str, int],
    labels: tuple[str, ...],
) -> None:
    guard.allow_status(422)  # the refusal, shown in words
    name, email, password, button, refusal = labels
    page = new_page(viewport)
    page.goto(f"{shop.url}/#/signup")
    if lang == "en":
        page.get_by_role("button", name="Switch to English").click()
    address = f"consent-{secrets.token_hex(4)}@example.com"
    page.get_by_label(name).fill("동의 고객")
    page.get_by_label(email).fill(address)
    page.get_by_label(password, exact=True).fill(PASSWORD)
    page.locator("#consent-terms").check()  # the privacy consent is missing
    page.get_by_role("main").get_by_role("button", name=button).click()
    expect(page.get_by_role("alert")).to_contain_text(refusal)
    expect(page.locator("#consent-privacy")).to_be_focused()
    assert "consent_required" not in page.content()
    no_sideways_scroll(page)
    screenshot(page, f"signup-consent-refused-{lang}-{viewport['width']}")
    agree_to_both(page)
    page.get_by_role("main").get_by_role("button", name=button).click()
    expect(
        page.get_by_role("link", name="내 정보" if lang == "ko" else "My account")
    ).to_be_visible()
    page.goto(f"{shop.url}/#/account")
    consents = page.locator("#consents li")
    expect(consents).to_have_count(2)
    info = httpx.get(f"{shop.url}/api/shop/info").json()["legal"]
    expect(consents.first).to_contain_text(info["privacy_version"])


def test_a_session_outlives_its_access_token_and_a_reload(
    shop: LiveServer, page: Page, guard: ConsoleGuard
) -> None:
    customer = sign_up(shop, name="오래 고객")
    page.goto(f"{shop.url}/#/login?next=/orders")
    log_in(page, customer.user["email"])
    expect(page.get_by_role("heading", name="내 주문", level=1)).to_be_visible()
    (cookie, *more) = [c for c in page.context.cookies() if c["name"] == "cloudmall_refresh"]
    paths = {c["path"] for c in [cookie, *more]}
    assert paths == {"/api/auth/refresh", "/api/auth/logout"}
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # no script can read it
    first_token = page.evaluate("JSON.parse(localStorage.getItem('cloudmall.session')).token")

    time.sleep(ACCESS_TTL + 1)  # the access token runs out; nothing to wait on but the clock
    page.goto(f"{shop.url}/#/account")
    expect(page.get_by_role("heading", name="내 정보", level=1)).to_be_visible()
    expect(page.locator("#profile-email")).to_have_text(customer.user["email"].lower())
    renewed = page.evaluate("JSON.parse(localStorage.getItem('cloudmall.session')).token")
    assert renewed != first_token

    time.sleep(ACCESS_TTL + 1)
    page.reload()
    expect(page.get_by_role("heading", name="내 정보", level=1)).to_be_visible()
    page.locator("#profile-phone").fill("010-1234-5678")
    page.get_by_role("button", name="저장").click()
    expect(page.locator("#toast")).to_contain_text("저장했습니다")
    page.reload()
    expect(page.locator("#profile-phone")).to_have_value("010-1234-5678")
    expect(page.locator("section#address-book a")).to_have_attribute("href", "#/account/addresses")
    screenshot(page, "account-page")

    page.get_by_role("button", name="로그아웃").click()
    expect(page.get_by_role("link", name="로그인")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "cloudmall_refresh"]


def test_the_footer_on_every_page_and_the_terms_and_privacy_pages(
    shop: LiveServer, new_page: PageFactory
) -> None:
    info = httpx.get(f"{shop.url}/api/shop/info").json()
    business, legal = info["business"], info["legal"]
    for viewport in (DESKTOP, PHONE_390):
        page = new_page(viewport)
        for route in ("#/", "#/cart", "#/login"):
            page.goto(f"{shop.url}/{route}")
            footer = page.locator("#business-info")
            expect(footer).to_contain_text(business["name"])
            for field in ("representative", "registration_number", "mail_order_number", "phone"):
                expect(footer).to_contain_text(business[field])
            expect(footer.get_by_role("link", name=business["email"])).to_be_visible()
        expect(page.locator("#business-info")).to_contain_text("사업자등록번호")
        page.get_by_role("contentinfo").get_by_role("link", name="이용약관").click()
        expect(page.get_by_role("heading", name="이용약관", level=1)).to_be_visible()
        expect(page.locator(".legal-version")).to_have_text(f"버전 {legal['terms_version']}")
        no_sideways_scroll(page)
        screenshot(page, f"terms-ko-{viewport['width']}", full_page=True)
        page.get_by_role("button", name="Switch to English").click()
        expect(page.get_by_role("heading", name="Terms of use", level=1)).to_be_visible()
        expect(page.locator("#business-info")).to_contain_text("Business registration no.")
        page.get_by_role("contentinfo").get_by_role("link", name="Privacy policy").click()
        expect(page.get_by_role("heading", name="Privacy policy", level=1)).to_be_visible()
        expect(page.locator(".legal-version")).to_have_text(f"Version {legal['privacy_version']}")
        no_sideways_scroll(page)
        screenshot(page, f"privacy-en-{viewport['width']}", full_page=True)
