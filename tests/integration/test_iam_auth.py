"""IAM database authentication: each new connection logs in with a token made for it."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cloudmall.adapters.db.engine import create_engine
from tests.support import MARIADB_URL

pytestmark = pytest.mark.anyio


class FakeTokens:
    """Stands in for RdsIamTokens: a new token per call, each one the user's password then."""

    def __init__(self, admin_url: str, user: str) -> None:
        self.admin_url = admin_url
        self.user = user
        self.asked: list[tuple[str, int, str]] = []

    def __call__(self, host: str, port: int, user: str) -> str:
        self.asked.append((host, port, user))
        token = secrets.token_urlsafe(24)
        admin = create_sync_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the database accepts this token, and no earlier one
            conn.execute(text(f"ALTER USER '{self.user}'@'%' IDENTIFIED BY '{token}'"))
        admin.dispose()
        return token


@pytest.fixture
def iam_user() -> str:
    user = f"cm_iam_{secrets.token_hex(4)}"
    admin = create_sync_engine(MARIADB_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{secrets.token_hex(16)}'"))
        database = make_url(MARIADB_URL).database
        conn.execute(text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'"))
    try:
        yield user
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()


async def test_every_new_connection_gets_a_fresh_token(iam_user: str) -> None:
    tokens = FakeTokens(MARIADB_URL, iam_user)
    url = make_url(MARIADB_URL).set(drivername="mysql", username=iam_user, password=None)
    engine = create_engine(
        url.render_as_string(hide_password=False), pool_size=1, password_source=tokens
    )
    try:
        async with engine.connect() as conn:
            assert (
                (await conn.execute(text("SELECT CURRENT_USER()")))
                .scalar_one()
                .startswith(iam_user)
            )
        await engine.dispose()  # the next checkout opens a new connection: a new token
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
    host, port = url.host or "", url.port or 3306
    assert tokens.asked == [(host, port, iam_user), (host, port, iam_user)]


async def test_without_a_token_the_user_cannot_log_in(iam_user: str) -> None:
    url = make_url(MARIADB_URL).set(drivername="mysql", username=iam_user, password=None)
    engine = create_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        with pytest.raises(Exception, match="Access denied"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
