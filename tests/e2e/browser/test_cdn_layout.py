"""The CDN layout: the same static files served from another origin (as S3 + CloudFront would),
with config.js pointing at the API, and the app allowing that origin through CORS."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import shop_env
from tests.e2e.browser.conftest import ConsoleGuard, copy_static, screenshot
from tests.e2e.browser.flows import buy_two_products
from tests.e2e.client import create_product, log_in_admin
from tests.support import LiveServer, free_port, scratch_database, start_server, stop_server


@dataclass
class CdnLayout:
    api: LiveServer
    static_url: str


def serve_files(directory: Path, port: int) -> subprocess.Popen[bytes]:
    """A plain static file server, standing in for the CDN."""
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the static file server exited early")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/config.js", timeout=2).status_code == 200:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the static file server did not start in 20 s")


@pytest.fixture(scope="module")
def cdn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CdnLayout]:
    tmp_path = tmp_path_factory.mktemp("cdn-layout")
    static_port = free_port()
    static_origin = f"http://127.0.0.1:{static_port}"
    with scratch_database("sqlite", tmp_path) as url:
        api = start_server(shop_env(url, tmp_path, CLOUDMALL_CORS_ORIGINS=static_origin), tmp_path)
        try:
            files = copy_static(tmp_path / "cdn", api_base=api.url)
            static = serve_files(files, static_port)
            try:
                yield CdnLayout(api=api, static_url=static_origin)
            finally:
                static.terminate()
                static.wait(timeout=10)
        finally:
            stop_server(api)


def test_purchase_with_pages_from_another_origin(
    cdn: CdnLayout, page: Page, guard: ConsoleGuard
) -> None:
    guard.allow_status(402)  # the declined card, shown to the shopper in words
    admin = log_in_admin(cdn.api)
    tag = secrets.token_hex(3)
    first = create_product(admin, stock=5, price="12900.00", name=f"CDN 머그컵 {tag}")
    second = create_product(admin, stock=3, price="4500.00", name=f"CDN 텀블러 {tag}")
    picture = admin.put(
        f"/api/products/{first['id']}/image",
        files={"file": ("mug.png", _png(), "image/png")},
    )
    assert picture.status_code == 200, picture.text

    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url))
    buy_two_products(page, cdn.static_url, first, second, total="33,300원")  # 3,000원 delivery
    screenshot(page, "cdn-layout-my-orders")

    assert page.url.startswith(cdn.static_url)
    assert any(url.startswith(f"{cdn.api.url}/api/orders") for url in api_calls)
    assert any(url.startswith(f"{cdn.api.url}/media/thumbs/") for url in api_calls)
    assert not any(url.startswith(f"{cdn.static_url}/api/") for url in api_calls)


def _png() -> bytes:
    from tests.e2e.browser.test_storefront import png

    return png((16, 185, 129), "cdn")
