"""Databases on a MariaDB/MySQL or PostgreSQL server: one per service of the services topology
(`cloudmall services run` with CLOUDMALL_SERVICES_DATABASE)."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cloudmall.adapters.db.engine import async_url

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_PASSWORD = re.compile(r"[0-9a-f]{32,128}")  # hex: nothing to quote in the SQL it goes into


async def ensure_database(server_url: str, name: str, *, password: str) -> str:
    """Create the database `name` on the server, and a user `name` (with `password`) that may
    use that database alone, unless they exist (the password is set anew); the URL of the
    database as that user. The services' databases are then apart as on AWS: a service's
    credentials open its own database only."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain database name")
    if not _PASSWORD.fullmatch(password):
        raise ValueError("the password must be 32 to 128 hexadecimal digits")
    url = async_url(server_url)
    backend = url.get_backend_name()
    if backend not in ("mysql", "mariadb", "postgresql"):
        raise ValueError(
            "CLOUDMALL_SERVICES_DATABASE names a MariaDB/MySQL or PostgreSQL server "
            f"(mysql://… or postgresql://…), not {backend}"
        )
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if backend == "postgresql":
                role = await conn.scalar(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
                )
                verb = "ALTER" if role else "CREATE"
                await conn.execute(text(f"{verb} ROLE \"{name}\" LOGIN PASSWORD '{password}'"))
                found = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not found:
                    await conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{name}"'))
                # New databases let every role connect (PUBLIC): only its owner may here.
                await conn.execute(text(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC'))
            else:
                await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}`"))
                await conn.execute(text(f"CREATE USER IF NOT EXISTS '{name}'@'%'"))
                await conn.execute(text(f"ALTER USER '{name}'@'%' IDENTIFIED BY '{password}'"))
                await conn.execute(text(f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{name}'@'%'"))
    finally:
        await engine.dispose()
    return url.set(database=name, username=name, password=password).render_as_string(
        hide_password=False
    )
