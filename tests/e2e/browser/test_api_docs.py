"""The API docs page works offline: Swagger UI from the app itself, under the strict CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, Route

from tests.e2e.browser.conftest import screenshot
from tests.support import LiveServer


def test_docs_render_every_operation_with_the_outside_network_blocked(
    shop: LiveServer, page: Page
) -> None:
    own = urlsplit(shop.url).netloc
    outside: list[str] = []

    def only_the_shop(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_the_shop)
    answer = page.goto(f"{shop.url}/docs")
    assert answer is not None and answer.status == 200
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    operations = sum(
        len(methods) for methods in httpx.get(f"{shop.url}/openapi.json").json()["paths"].values()
    )
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() == operations
    assert page.get_by_text("/api/products/{product_id}", exact=True).first.is_visible()
    screenshot(page, "api-docs")
    assert outside == []  # nothing was even asked of another host
