"""`cloudmall.serverless:handler`: API Gateway HTTP API events in, their answers out."""

from __future__ import annotations

import asyncio
import io
import secrets
from typing import TypeVar

from PIL import Image

from cloudmall.serverless.function import Function
from cloudmall.serverless.routes import ACCOUNTS, CATALOGUE, FUNCTIONS, ORDERS
from cloudmall.services.commands import Command, MakeAdmin
from tests.integration.serverless.conftest import MakeFunction
from tests.integration.serverless.events import body_of, event, invoke, json_of

R = TypeVar("R")
ADMIN = {"email": "staff@cloudmall.test", "password": "correct-horse-battery-staple"}


def sign_up(function: Function, source_ip: str = "203.0.113.10") -> str:
    answer = invoke(
        function,
        event(
            "POST",
            "/api/auth/signup",
            body={
                "email": f"u{secrets.token_hex(4)}@example.com",
                "password": "a long enough passphrase",
                "name": "Kim",
                "consent": {"privacy": True, "terms": True},
            },
            source_ip=source_ip,
        ),
    )
    assert answer["statusCode"] == 201, answer
    return str(json_of(answer)["access_token"])


def test_a_json_answer_and_a_404_in_the_error_format(make_function: MakeFunction) -> None:
    function = make_function()
    categories = invoke(function, event("GET", "/api/categories"))
    assert categories["statusCode"] == 200
    assert json_of(categories) == []  # a new shop: staff have made none yet
    assert categories["headers"]["content-type"].startswith("application/json")
    assert categories["isBase64Encoded"] is False
    missing = invoke(function, event("GET", "/api/products/999999"))
    assert missing["statusCode"] == 404
    assert json_of(missing)["error"]["code"] == "not_found"


def test_each_function_answers_its_routes_only(make_function: MakeFunction) -> None:
    functions = {name: make_function(name) for name in FUNCTIONS}
    token = sign_up(functions["accounts"])
    me = invoke(
        functions["accounts"],
        event("GET", "/api/auth/me", headers={"authorization": f"Bearer {token}"}),
    )
    assert me["statusCode"] == 200
    assert invoke(functions["catalogue"], event("GET", "/api/products"))["statusCode"] == 200
    orders = invoke(
        functions["orders"],
        event("GET", "/api/orders", headers={"authorization": f"Bearer {token}"}),
    )
    assert orders["statusCode"] == 200 and json_of(orders) == []
    # Every other function's routes: 404 in the error format, whatever the method.
    samples = {
        "accounts": ("POST", "/api/auth/login"),
        "catalogue": ("GET", "/api/products/1"),
        "orders": ("POST", "/api/products"),
    }
    for name, function in functions.items():
        for other, (method, path) in samples.items():
            if other == name:
                continue
            answer = invoke(function, event(method, path, body={}))
            assert answer["statusCode"] == 404, (name, method, path, answer)
            assert json_of(answer)["error"]["code"] == "not_found"
        docs = invoke(function, event("GET", "/openapi.json"))
        assert docs["statusCode"] == 404  # no docs, no health routes behind API Gateway


def test_images_go_in_and_out_base64(make_function: MakeFunction) -> None:
    orders, catalogue = make_function("orders"), make_function("catalogue")
    _run(orders, MakeAdmin(email=ADMIN["email"], password=ADMIN["password"], name="Staff"))
    login = invoke(make_function("accounts"), event("POST", "/api/auth/login", body=ADMIN))
    staff = {"authorization": f"Bearer {json_of(login)['access_token']}"}
    kitchen = invoke(
        orders,
        event(
            "POST",
            "/api/admin/categories",
            body={"name": "주방", "name_en": "Kitchen"},
            headers=staff,
        ),
    )
    assert kitchen["statusCode"] == 201 and json_of(kitchen)["slug"] == "kitchen", kitchen
    made = invoke(
        orders,
        event(
            "POST",
            "/api/products",
            body={"name": "컵", "price": "1000.00", "stock_quantity": 3, "category": "kitchen"},
            headers=staff,
        ),
    )
    assert made["statusCode"] == 201, made
    product = json_of(made)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(picture, format="PNG")
    boundary = "cloudmall-boundary"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + picture.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    uploaded = invoke(
        orders,
        event(
            "PUT",
            f"/api/products/{product['id']}/image",
            body=multipart,
            headers={**staff, "content-type": f"multipart/form-data; boundary={boundary}"},
        ),
    )
    assert uploaded["statusCode"] == 200, uploaded
    image_url = json_of(uploaded)["image_url"]
    served = invoke(catalogue, event("GET", image_url))
    assert served["statusCode"] == 200 and served["isBase64Encoded"] is True
    # The shop re-encodes every image from its pixels (no metadata): the picture, not the bytes.
    with Image.open(io.BytesIO(body_of(served))) as back:
        assert back.format == "PNG" and back.size == (64, 48)
        assert back.convert("RGB").getpixel((10, 10)) == (0, 0, 128)


def test_the_client_address_is_the_source_ip_never_a_forwarded_header(
    make_function: MakeFunction,
) -> None:
    accounts = make_function("accounts", login_failures_per_client=2)
    wrong = {"email": "nobody@example.com", "password": "wrong password, guessed"}
    for spoofed in ("192.0.2.1", "192.0.2.2"):
        answer = invoke(
            accounts,
            event(
                "POST",
                "/api/auth/login",
                body=wrong,
                headers={"x-forwarded-for": spoofed, "x-real-ip": spoofed},
                source_ip="198.51.100.7",
            ),
        )
        assert answer["statusCode"] == 401
    # A third forwarded address changes nothing: the limit counts the source address.
    limited = invoke(
        accounts,
        event(
            "POST",
            "/api/auth/login",
            body=wrong,
            headers={"x-forwarded-for": "192.0.2.3"},
            source_ip="198.51.100.7",
        ),
    )
    assert limited["statusCode"] == 429
    other = invoke(accounts, event("POST", "/api/auth/login", body=wrong, source_ip="198.51.100.8"))
    assert other["statusCode"] == 401


def test_the_shop_is_built_once_and_reused_by_every_invocation(
    make_function: MakeFunction,
) -> None:
    function = make_function("catalogue")
    shop = function.shop
    for _ in range(3):
        assert invoke(function, event("GET", "/api/categories"))["statusCode"] == 200
    assert function.shop is shop


def _run(function: Function, command: Command[R]) -> R:
    """A command on the function's own event loop, where its connections live."""
    return asyncio.get_event_loop().run_until_complete(function.shop.handle(command))


def test_the_route_sets_are_disjoint() -> None:
    assert not (ACCOUNTS & CATALOGUE or ACCOUNTS & ORDERS or CATALOGUE & ORDERS)
