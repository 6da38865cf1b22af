"""schemathesis against the app's own OpenAPI schema, in process (ASGI), as a customer and as staff,
with every check of its default set: no 5xx; status codes, bodies, content types and headers as
documented; requests the schema forbids refused, requests it allows accepted (or refused for the
shop's data: 404, 409); 405 with `Allow` for undeclared methods; credentials enforced. The three
stateful checks (use_after_free, ensure_resource_availability, object_level_authorization) are in
the set too, but only see something in schemathesis' stateful runs."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

from cloudmall.adapters.db.migrations import upgrade
from cloudmall.config import Settings
from cloudmall.domain.users import Role
from cloudmall.services.commands import CreateProduct, LogIn, MakeAdmin, SignUp
from cloudmall.services.shop import Shop
from cloudmall.web.app import build_web_shop, create_app
from tests.reliability.conftest import rounds

_folder = Path(__import__("tempfile").mkdtemp(prefix="cloudmall-fuzz-"))
_settings = Settings(
    environment="test",
    var_dir=_folder,
    database_url=f"sqlite:///{_folder / 'shop.db'}",
    secret_key="fuzz-" + "0123456789abcdef" * 4,
    signups_per_client=10**9,
    login_failures_per_client=10**9,
    login_failures_per_account=10**9,
    login_failures_per_account_and_client=10**9,
)


def _prepare() -> tuple[Shop, dict[str, str]]:
    shop = build_web_shop(_settings)

    async def fill() -> dict[str, str]:
        await upgrade(_settings.database_url)
        password = "a long enough passphrase"
        agreed = frozenset({"privacy", "terms"})
        await shop.handle(SignUp("customer@fuzz.example.com", password, "customer", "fuzz", agreed))
        await shop.handle(MakeAdmin("admin@fuzz.example.com", password, "admin"))
        tokens = {}
        for role in (Role.CUSTOMER, Role.ADMIN):
            login = LogIn(f"{role.value}@fuzz.example.com", password, "fuzz")
            tokens[role.value] = (await shop.handle(login)).access_token
        for index in range(3):
            await shop.handle(CreateProduct(f"Fuzz {index}", "1000.00", stock_quantity=5))
        return tokens

    return shop, asyncio.run(fill())


_shop, TOKENS = _prepare()
# A well-formed card can still be declined (402): the gateway decides, not the schema; and an
# order whose address is pending is not paid (422 address_required), which depends on the order,
# not the request. So paying adds 402 and 422 to the statuses a valid request may get (the rest
# is schemathesis' default list). Shipping such an order (staff) is refused the same way.
PAYING = ["2xx", "3xx", "401", "402", "403", "404", "409", "422", "429", "5xx"]
# A new password the schema allows can still be refused by the password policy (422
# password_rejected: common, patterned, the email), which no schema can state; nor can it state
# which reset tokens the shop signed (422 reset_link_invalid|expired|used).
NEW_PASSWORD = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
_config = schemathesis.Config.from_dict(
    {
        "operations": [
            *(
                {
                    "include-name": name,
                    "checks": {"positive_data_acceptance": {"expected-statuses": PAYING}},
                }
                for name in (
                    "POST /api/orders/{order_id}/pay",
                    "POST /api/admin/orders/{order_id}/ship",
                )
            ),
            *(
                {
                    "include-name": name,
                    "checks": {"positive_data_acceptance": {"expected-statuses": NEW_PASSWORD}},
                }
                for name in (
                    "POST /api/auth/signup",
                    "POST /api/auth/password",
                    "POST /api/auth/password-reset/confirm",
                )
            ),
        ]
    }
)
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(_settings, shop=_shop),  # type: ignore[arg-type]
    config=_config,
)


def _image(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, format=image_format)
    return buffer.getvalue()


# The upload's schema names its image types; schemathesis cannot draw an image from that, so
# these are the files a client would send (anything else is rightly refused with 415).
for _media_type, _format in (("image/png", "PNG"), ("image/jpeg", "JPEG"), ("image/webp", "WEBP")):
    schemathesis.openapi.media_type(_media_type, st.just(_image(_format)))


def bearer(role: str) -> type:
    """An auth provider for `role`'s token. Schemathesis sets it on each case itself, so the cases
    it makes without credentials (or with broken ones) reach the app that way."""

    class Bearer:
        def get(self, case: schemathesis.Case, context: object) -> str:
            return TOKENS[role]

        def set(self, case: schemathesis.Case, data: str, context: object) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return Bearer


fuzz = settings(
    max_examples=rounds(full=100, ci=8),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@schema.auth(bearer("customer"))
@schema.parametrize()
@fuzz
def test_api_answers_conform_as_a_customer(case: schemathesis.Case) -> None:
    case.call_and_validate()  # no `checks=`: schemathesis' whole default set


@schema.auth(bearer("admin"))
@schema.parametrize()
@fuzz
def test_api_answers_conform_as_staff(case: schemathesis.Case) -> None:
    case.call_and_validate()
