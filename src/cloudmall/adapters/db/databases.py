"""Databases on a MariaDB/MySQL or PostgreSQL server: one per service of the services topology
(`cloudmall services run` with CLOUDMALL_SERVICES_DATABASE)."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cloudmall.adapters.db.engine import async_url

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


async def ensure_database(server_url: str, name: str) -> str:
    """Create the database `name` on the server unless it exists; its URL (the server's, with
    `name` as its database)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain database name")
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
                found = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not found:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}`"))
    finally:
        await engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
