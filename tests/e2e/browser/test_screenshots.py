"""Screenshots of the main pages for docs/storefront.md: a shop with the demo catalogue, in Korean
and English, at 1280 px and 390 px. Re-run to refresh them:

    .venv/bin/python -m pytest tests/e2e/browser/test_screenshots.py
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import shop_env
from tests.e2e.browser.flows import log_in
from tests.e2e.client import log_in_admin, sign_up
from tests.support import (
    ADDRESS,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LiveServer,
    card,
    cli,
    scratch_database,
    start_server,
    stop_server,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LANGS = ("ko", "en")
PASSWORD = "a long enough passphrase"  # what sign_up gives every shopper
PAGES = (
    "catalogue",
    "product",
    "cart",
    "orders",
    "staff-overview",
    "staff-products",
    "staff-categories",
)


@pytest.fixture(scope="module")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A shop with 36 demo products (the pictures `serve` draws), an admin and a customer."""
    tmp_path = tmp_path_factory.mktemp("screenshot-shop")
    with scratch_database("sqlite", tmp_path) as url:
        env = shop_env(url, tmp_path, CLOUDMALL_DEMO_PRODUCTS="36")
        seeded = cli(env, tmp_path, "seed")
        assert seeded.returncode == 0, seeded.stderr
        server = start_server(env, tmp_path)
        try:
            yield server
        finally:
            stop_server(server)


def _shoot(page: Page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready")
    # The welcome and added-to-cart messages would hide part of the page in the picture.
    page.evaluate("document.getElementById('toast').classList.remove('is-visible')")
    page.wait_for_timeout(250)  # its fade
    page.screenshot(path=str(DOCS / f"{name}.jpg"), type="jpeg", quality=72)


def _context_page(browser: Browser, lang: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="ko-KR")
    context.set_default_timeout(15_000)
    context.add_init_script(f"localStorage.setItem('cloudmall.lang', '{lang}')")
    return context.new_page()


def _products(shop: LiveServer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = log_in_admin(shop).get("/api/products?limit=100").json()
    return found


def test_screenshots_of_the_main_pages(demo_shop: LiveServer, browser: Browser) -> None:
    products = _products(demo_shop)
    on_sale = next(p for p in products if p["list_price"])
    in_stock = [p for p in products if p["stock_quantity"] >= 3 and not p["list_price"]]
    low = min(
        (p for p in products if p["stock_quantity"] > 0 and p["id"] != on_sale["id"]),
        key=lambda p: p["stock_quantity"],
    )
    customer = sign_up(demo_shop, name="김하늘")
    order = customer.post(
        "/api/orders",
        json={"items": [{"productId": in_stock[0]["id"], "quantity": 1}], "address": ADDRESS},
    ).json()
    paid = customer.post(f"/api/orders/{order['orderId']}/pay", json=card())
    assert paid.status_code == 200, paid.text

    taken: list[str] = []
    for lang in LANGS:
        for width, viewport in WIDTHS.items():
            page = _context_page(browser, lang, viewport)
            page.goto(f"{demo_shop.url}/#/login?next=/")
            _log_in(page, lang, customer.user["email"], PASSWORD)
            expect(page.locator("li.card").first).to_be_visible()
            _shoot(page, f"catalogue-{lang}-{width}")
            _open_product(page, demo_shop, on_sale, lang)
            expect(page.locator(".price-tag .price-off")).to_be_visible()
            _shoot(page, f"product-{lang}-{width}")
            page.locator(".buy-box button[type=submit]").click()
            expect(page.locator(".after-add a")).to_be_visible()
            _open_product(page, demo_shop, low, lang)
            page.locator("#quantity").fill(str(low["stock_quantity"]))
            page.locator(".buy-box button[type=submit]").click()
            expect(page.locator(".after-add a")).to_be_visible()
            page.goto(f"{demo_shop.url}/#/cart")
            expect(page.locator("li.cart-line")).to_have_count(2)
            _shoot(page, f"cart-{lang}-{width}")
            page.goto(f"{demo_shop.url}/#/orders")
            expect(page.locator(f'li[data-order-id="{order["orderId"]}"]')).to_be_visible()
            _shoot(page, f"orders-{lang}-{width}")
            page.context.close()

            staff = _context_page(browser, lang, viewport)
            staff.goto(f"{demo_shop.url}/#/login?next=/admin")
            _log_in(staff, lang, ADMIN_EMAIL, ADMIN_PASSWORD)
            expect(staff.locator("#stat-to-ship")).to_have_text("1")
            _shoot(staff, f"staff-overview-{lang}-{width}")
            staff.goto(f"{demo_shop.url}/#/admin/products")
            expect(staff.locator(".admin-products tbody tr").first).to_be_visible()
            _shoot(staff, f"staff-products-{lang}-{width}")
            staff.goto(f"{demo_shop.url}/#/admin/categories")
            expect(staff.locator(".admin-categories tbody tr").first).to_be_visible()
            _shoot(staff, f"staff-categories-{lang}-{width}")
            staff.context.close()
            taken += [f"{name}-{lang}-{width}" for name in PAGES]
    assert set(taken) <= {path.stem for path in DOCS.glob("*.jpg")}
    shown = (DOCS.parent / "storefront.md").read_text(encoding="utf-8")
    assert [name for name in taken if f"screenshots/{name}.jpg" not in shown] == []
    assert len(taken) == len(PAGES) * len(LANGS) * len(WIDTHS)


def _open_product(page: Page, shop: LiveServer, product: dict[str, Any], lang: str) -> None:
    page.goto(f"{shop.url}/#/product/{product['id']}")
    name = product["name_en"] if lang == "en" and product["name_en"] else product["name"]
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def _log_in(page: Page, lang: str, email: str, password: str) -> None:
    if lang == "ko":
        log_in(page, email, password)
        return
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
