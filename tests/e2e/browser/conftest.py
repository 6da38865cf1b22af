"""Browser fixtures: the system Chromium driven by Playwright, a shop server per module, and a
console guard that fails a test when the page logged an error it was not expected to."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from tests.conftest import shop_env
from tests.support import LiveServer, scratch_database, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
# How Chromium reports an HTTP error answer to fetch(); the pages handle these, so a test that
# provokes one on purpose (a declined card, a sold-out product) names the status it expects.
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
NETWORK_FAILURE = re.compile(r"Failed to load resource: net::ERR_")


@dataclass
class ConsoleGuard:
    """Collects console errors and uncaught page errors; some HTTP statuses may be allowed."""

    errors: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)
    network_failures_allowed: bool = False

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"pageerror: {error}")

    def allow_status(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def allow_network_failures(self) -> None:
        self.network_failures_allowed = True

    def unexpected(self) -> list[str]:
        left = []
        for text in self.errors:
            if self.network_failures_allowed and NETWORK_FAILURE.search(text):
                continue
            found = FAILED_LOAD.search(text)
            if found and int(found.group(1)) in self.allowed_statuses:
                continue
            left.append(text)
        return left


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one module: Playwright's sync API runs an event loop on this thread while it
    is open, so it must be closed before any asyncio test of another module runs."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-nanum")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A shop server on SQLite without demo data, shared by one module's tests."""
    tmp_path = tmp_path_factory.mktemp("browser-shop")
    with scratch_database("sqlite", tmp_path) as url:
        server = start_server(shop_env(url, tmp_path), tmp_path)
        try:
            yield server
        finally:
            stop_server(server)


PageFactory = Callable[..., Page]


@pytest.fixture
def guard() -> ConsoleGuard:
    return ConsoleGuard()


@pytest.fixture
def new_page(browser: Browser, guard: ConsoleGuard) -> Iterator[PageFactory]:
    """Opens pages in fresh browser contexts (own localStorage); all share the test's guard.

    At the end of the test, any console error or page error not allowed fails the test.
    """
    contexts = []

    def open_page(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="ko-KR")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", guard.on_console)
        page.on("pageerror", guard.on_page_error)
        return page

    yield open_page
    for context in contexts:
        context.close()
    unexpected = guard.unexpected()
    assert not unexpected, "the browser logged errors:\n" + "\n".join(unexpected)


@pytest.fixture
def page(new_page: PageFactory) -> Page:
    return new_page()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def copy_static(destination: Path, api_base: str) -> Path:
    """The storefront's files as a CDN would hold them, with config.js pointed at the API."""
    source = Path(__file__).resolve().parents[3] / "src" / "cloudmall" / "web" / "static"
    shutil.copytree(source, destination)
    (destination / "config.js").write_text(
        f'export default {{ apiBase: "{api_base}", currency: "KRW" }};\n', encoding="utf-8"
    )
    return destination
