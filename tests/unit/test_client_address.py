"""Whose address the per-client rate limits count: behind CloudFront, the viewer's."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from cloudmall.web.routers.accounts import client_address

VIEWER = "CloudFront-Viewer-Address"


def request(headers: dict[str, str], peer: str = "10.0.1.5") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/api/auth/login",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": (peer, 40000),
        }
    )


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("198.51.100.10:46532", "198.51.100.10"),
        ("2001:db8::8a2e:370:7334:443", "2001:db8::8a2e:370:7334"),
        ("198.51.100.10", "198.51.100.10"),
    ],
)
def test_the_named_header_gives_the_viewer_address(value: str, address: str) -> None:
    assert client_address(request({VIEWER: value}), VIEWER) == address


def test_without_the_setting_the_header_is_ignored() -> None:
    """Where clients can reach the app directly, a header they send must not choose their key."""
    assert client_address(request({VIEWER: "198.51.100.10:1"})) == "10.0.1.5"


@pytest.mark.parametrize("value", ["", "not-an-address", "999.1.1.1:80"])
def test_a_missing_or_garbled_header_falls_back_to_the_connection(value: str) -> None:
    headers = {VIEWER: value} if value else {}
    assert client_address(request(headers), VIEWER) == "10.0.1.5"
