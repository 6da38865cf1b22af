"""What a request line and its headers can do to a live shop: no 500 from any path, no reflected
Host in a redirect, foreign hosts refused when the shop names its own, /metrics kept private.

Requests go over raw sockets: an HTTP client library would tidy the very bytes under test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import real_tiers_env, shop_env
from tests.e2e.client import create_product, log_in_admin
from tests.reliability.test_security import png
from tests.support import LiveServer, Service, scratch_database, start_server, stop_server

SHOP_HOST = "shop.example.com"

# Percent-encoded and raw bytes a path could carry: NUL, overlong UTF-8 ("." and "/" in two or
# three bytes), invalid UTF-8, ".." in every spelling, CR/LF, backslashes, very long names.
HOSTILE_SEGMENTS: list[bytes] = [
    b"%00",
    b"a%00b.png",
    b"images/%00.png",
    b"%C0%AE%C0%AE/%C0%AE%C0%AE/etc/passwd",
    b"%c0%af",
    b"%e0%80%ae%e0%80%ae",
    b"%ff%fe%fd",
    b"..%2f..%2f..%2fetc%2fpasswd",
    b"%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"%2E%2E%5C%2E%2E%5Cwindows",
    b"images/..%2f..%2fsecret.key",
    b"%252e%252e%252fetc",
    b"%0d%0aSet-Cookie:%20x=1",
    b"x" * 300,
    b"images/" + b"a" * 5000 + b".png",
    b"\xc0\xae\xc0\xae/etc/passwd",  # raw bytes, not escaped
    b"\xff\xfe",
    b"%",
    b"%zz",
]


def raw_request(
    server: LiveServer, target: bytes, *, host: bytes = b"127.0.0.1"
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of `GET target` sent byte for byte."""
    parts = urlsplit(server.url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module", params=["local", "s3"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, moto: Service
) -> Iterator[LiveServer]:
    """A shop on the local folder store, and one on S3 (moto) with Redis."""
    tmp_path: Path = tmp_path_factory.mktemp(f"edge-{request.param}")
    extra = real_tiers_env(moto) if request.param == "s3" else {}
    with scratch_database("sqlite", tmp_path) as url:
        live = start_server(shop_env(url, tmp_path, **extra), tmp_path)
        try:
            yield live
        finally:
            stop_server(live)


def path_templates(server: LiveServer) -> list[str]:
    """Every route that takes part of its path from the URL, with `{}` where that part goes."""
    schema = httpx.get(f"{server.url}/openapi.json").json()
    templates = [
        path.split("{")[0] + "{}" + path.split("}", 1)[1].replace("{", "").replace("}", "")
        for path in schema["paths"]
        if "{" in path
    ]
    # The media route (not in the schema), the storefront's file server, the API docs.
    return [*templates, "/media/{}", "/{}", "/static/{}", "/docs/{}", "/api/{}"]


def test_no_byte_sequence_in_a_path_gets_a_5xx(server: LiveServer) -> None:
    admin = log_in_admin(server)
    product = create_product(admin, stock=1)
    image = admin.put(
        f"/api/products/{product['id']}/image",
        files={"file": ("p.png", png(), "image/png")},
    )
    assert image.status_code == 200, image.text
    templates = path_templates(server)
    assert len(templates) >= 8, templates
    checked = 0
    for template in templates:
        for segment in HOSTILE_SEGMENTS:
            target = template.replace("{}", "\x00").encode().replace(b"\x00", segment)
            status, headers, body = raw_request(server, target)
            assert 400 <= status < 500, (target[:80], status, body[:200])
            if headers.get("content-type", "").startswith("application/json"):
                assert json.loads(body)["error"]["code"], body  # the shop's error format
            checked += 1
    assert checked == len(templates) * len(HOSTILE_SEGMENTS)
    # Still serving, and the real image is still there.
    key = admin.get(f"/api/products/{product['id']}").json()["image_url"]
    assert raw_request(server, key.encode())[0] == 200
    assert "Traceback" not in server.log() and "embedded null byte" not in server.log()


def test_redirects_never_carry_the_requests_host(server: LiveServer) -> None:
    for target in (
        b"/api/products/",
        b"/docs/",
        b"/api/orders/",
        b"//evil.example/",
        b"/api/products/?q=x",
    ):
        status, headers, _ = raw_request(server, target, host=b"evil.example")
        if 300 <= status < 400:
            location = headers["location"]
            assert location.startswith("/") and not location.startswith("//"), (target, location)
            assert "evil.example" not in location.split("?")[0].lstrip("/").split("/")[0], location
    status, headers, _ = raw_request(server, b"/api/products/?q=x", host=b"evil.example")
    assert status == 307 and headers["location"] == "/api/products?q=x"


def test_metrics_answer_loopback_only(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 200  # from 127.0.0.1
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (a proxy in front): the client is outside.
    outside = httpx.get(f"{server.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert outside.status_code == 404 and "http_request" not in outside.text
    assert outside.json()["error"]["code"] == "not_found"


def test_named_hosts_only_when_the_shop_names_them(tmp_path: Path) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        env = shop_env(url, tmp_path, CLOUDMALL_ALLOWED_HOSTS=f"{SHOP_HOST},*.cdn.example.net")
        live = start_server(env, tmp_path)
        try:
            for host in (SHOP_HOST, f"{SHOP_HOST}:443", "d111.cdn.example.net"):
                assert raw_request(live, b"/api/products", host=host.encode())[0] == 200, host
            for host in (
                b"evil.example",
                b"shop.example.com.evil.example",
                b"cdn.example.net",
                b"127.0.0.1",
                b"",
            ):
                status, _, body = raw_request(live, b"/api/products/", host=host)
                assert status == 400, (host, status)
                assert json.loads(body)["error"]["code"] == "bad_host"
            # Load balancers probe health by instance address.
            assert raw_request(live, b"/readyz", host=b"10.0.3.7:8000")[0] == 200
        finally:
            stop_server(live)
