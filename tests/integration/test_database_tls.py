"""TLS to MySQL: the URL's ``ssl_ca`` (what the CDK stack puts in CLOUDMALL_DATABASE_URL) makes the
app verify the server's certificate and host name, and never fall back to plaintext."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cloudmall.adapters.db.engine import async_url, create_engine
from tests.support import scratch_database

pytestmark = pytest.mark.anyio

CA_BUNDLE = certifi.where()  # any CA file: the local server has no certificate at all


async def test_ssl_ca_in_the_url_becomes_a_verifying_tls_context() -> None:
    url = async_url(f"mysql://app:pw@db.example.internal:3306/cloudmall?ssl_ca={CA_BUNDLE}")
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        _, options = engine.dialect.create_connect_args(make_url(url))
        assert options["ssl"] == {"ca": CA_BUNDLE}
        from asyncmy.connection import Connection

        context = Connection(ssl=options["ssl"])._ssl_context  # what asyncmy will hand to TLS
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True
    finally:
        await engine.dispose()


async def test_a_server_without_tls_is_refused_not_used_in_plaintext(tmp_path: Path) -> None:
    """MariaDB here has TLS off: with ssl_ca the connection fails; without it, it works."""
    with scratch_database("mariadb", tmp_path) as url:
        plain = create_engine(url)
        try:
            async with plain.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        finally:
            await plain.dispose()
        separator = "&" if "?" in url else "?"
        tls = create_engine(f"{url}{separator}ssl_ca={CA_BUNDLE}")
        try:
            with pytest.raises(Exception) as refused:
                async with tls.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            assert "ssl" in repr(refused.value).lower() or "tls" in repr(refused.value).lower(), (
                refused.value
            )
        finally:
            await tls.dispose()
