"""schemathesis against the app's own OpenAPI schema, in process (ASGI), as a customer and as staff:
no 5xx, and every answer's body, content type and headers conform to the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from cloudmall.adapters.db.migrations import upgrade
from cloudmall.bootstrap import build_container
from cloudmall.config import Settings
from cloudmall.domain.users import Role
from cloudmall.services import accounts, catalog
from cloudmall.web.app import create_app
from tests.reliability.conftest import rounds

_folder = Path(__import__("tempfile").mkdtemp(prefix="cloudmall-fuzz-"))
_settings = Settings(
    environment="test",
    var_dir=_folder,
    database_url=f"sqlite:///{_folder / 'shop.db'}",
    secret_key="fuzz-secret-key-that-is-long-enough-0123456789",
    signups_per_client=10**9,
    login_failures_per_client=10**9,
    login_failures_per_account=10**9,
)


def _prepare() -> tuple[object, dict[str, str]]:
    container = build_container(_settings)

    async def fill() -> dict[str, str]:
        await upgrade(_settings.database_url)
        tokens = {}
        for role in (Role.CUSTOMER, Role.ADMIN):
            user = await accounts.sign_up(
                uow=container.uow,
                hasher=container.hasher,
                email=f"{role.value}@fuzz.example.com",
                password="a long enough passphrase",
                name=role.value,
                role=role,
            )
            tokens[role.value] = container.tokens.issue(user)[0]
        for index in range(3):
            await catalog.create_product(
                uow=container.uow,
                cache=container.catalog_cache,
                name=f"Fuzz {index}",
                price="1000.00",
                stock_quantity=5,
            )
        return tokens

    return container, asyncio.run(fill())


_container, TOKENS = _prepare()
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container=_container))  # type: ignore[arg-type]


@pytest.mark.parametrize("role", ["customer", "admin"])
@schema.parametrize()
@settings(
    max_examples=rounds(full=100, ci=8),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_conform_and_never_5xx(case: schemathesis.Case, role: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKENS[role]}"},
        # The checks that pass today. Open findings of the full set (ST103 undocumented 400 on
        # unparsable multipart, ST201/ST202 schema vs. validator gaps, ST205 Allow on API paths
        # falling through to the static mount) are listed in docs/reliability.md.
        checks=[
            not_a_server_error,
            response_schema_conformance,
            content_type_conformance,
            response_headers_conformance,
        ],
    )
