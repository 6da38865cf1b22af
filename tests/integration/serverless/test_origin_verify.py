"""Behind CloudFront: the function serves only requests carrying CloudFront's secret origin
header, and then counts clients by CloudFront-Viewer-Address, not by API Gateway's sourceIp
(which is CloudFront's edge)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudmall.config import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.integration.serverless.conftest import MakeFunction
from tests.integration.serverless.events import event, invoke, json_of

ORIGIN_SECRET = "an-origin-secret-only-cloudfront-knows-0123456789"
BEHIND_CLOUDFRONT = {
    "origin_verify_secret": ORIGIN_SECRET,
    "client_address_header": "CloudFront-Viewer-Address",
}
WRONG = {"email": "nobody@example.com", "password": "wrong password, guessed"}


def from_cloudfront(viewer: str, edge: str, secret: str = ORIGIN_SECRET) -> dict[str, Any]:
    """A failed log-in as CloudFront sends it: from an edge, with the viewer's ip:port."""
    return event(
        "POST",
        "/api/auth/login",
        body=WRONG,
        headers={"x-origin-verify": secret, "cloudfront-viewer-address": viewer},
        source_ip=edge,
    )


@pytest.mark.parametrize("sent", [None, "", "wrong", ORIGIN_SECRET[:-1], ORIGIN_SECRET + "x"])
def test_an_api_request_without_the_origin_secret_is_refused(
    make_function: MakeFunction, sent: str | None
) -> None:
    catalogue = make_function("catalogue", **BEHIND_CLOUDFRONT)
    headers = {} if sent is None else {"x-origin-verify": sent}
    answer = invoke(catalogue, event("GET", "/api/products", headers=headers))
    assert answer["statusCode"] == 403
    assert json_of(answer)["error"]["code"] == "origin_not_verified"
    assert "x-request-id" in answer["headers"]  # answered inside the app's own middleware


def test_with_the_secret_the_request_is_served(make_function: MakeFunction) -> None:
    catalogue = make_function("catalogue", **BEHIND_CLOUDFRONT)
    answer = invoke(
        catalogue, event("GET", "/api/products", headers={"x-origin-verify": ORIGIN_SECRET})
    )
    assert answer["statusCode"] == 200


@pytest.mark.parametrize(
    ("viewer", "other_viewer"),
    [("198.51.100.7:46532", "198.51.100.8:46532"), ("2001:db8::7:443", "2001:db8::8:443")],
)
def test_limits_count_the_viewer_not_the_edge(
    make_function: MakeFunction, viewer: str, other_viewer: str
) -> None:
    accounts = make_function("accounts", login_failures_per_client=2, **BEHIND_CLOUDFRONT)
    # Two failures of one viewer through two edges: its limit, not the edges'.
    for edge in ("130.176.0.1", "130.176.0.2"):
        assert invoke(accounts, from_cloudfront(viewer, edge))["statusCode"] == 401
    assert invoke(accounts, from_cloudfront(viewer, "130.176.0.3"))["statusCode"] == 429
    # Another viewer through the same edge is not held back by the first one's failures.
    assert invoke(accounts, from_cloudfront(other_viewer, "130.176.0.1"))["statusCode"] == 401


def test_a_viewer_address_without_the_secret_chooses_nothing(make_function: MakeFunction) -> None:
    """Sent straight to API Gateway, the header is refused with the request."""
    accounts = make_function("accounts", login_failures_per_client=2, **BEHIND_CLOUDFRONT)
    answer = invoke(accounts, from_cloudfront("198.51.100.9:1", "203.0.113.9", secret="guess"))
    assert answer["statusCode"] == 403


def test_without_the_setting_the_source_ip_counts_as_today(make_function: MakeFunction) -> None:
    """A local run (no origin secret): no header is required and none is believed."""
    accounts = make_function("accounts", login_failures_per_client=2)
    for viewer in ("198.51.100.1:1", "198.51.100.2:1"):
        answer = invoke(accounts, from_cloudfront(viewer, "203.0.113.7", secret=""))
        assert answer["statusCode"] == 401
    assert invoke(accounts, from_cloudfront("198.51.100.3:1", "203.0.113.7"))["statusCode"] == 429


def test_a_function_may_not_believe_a_viewer_header_without_the_secret() -> None:
    with pytest.raises(ValueError, match="CLOUDMALL_ORIGIN_VERIFY_SECRET"):
        Settings(
            environment="test",
            runtime="function",
            secret_key=TEST_SECRET_KEY,
            client_address_header="CloudFront-Viewer-Address",
        )
