"""The SQL unit of work: one connection, one transaction, the repositories inside it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cloudmall.adapters.db.engine import WRITE_OPTION
from cloudmall.adapters.db.repositories import (
    SqlIdempotencyRepository,
    SqlOrderRepository,
    SqlPaymentRepository,
    SqlProductRepository,
    SqlUserRepository,
)
from cloudmall.services.ports import (
    DatabaseUnavailable,
    IdempotencyRepository,
    OrderRepository,
    PaymentRepository,
    ProductRepository,
    RetryableConflict,
    UserRepository,
)

# Errors after which running the whole transaction again is the right answer.
_MYSQL_RETRYABLE = {1213, 1205}  # deadlock found; lock wait timeout
_PG_RETRYABLE = {"40001", "40P01"}  # serialization failure; deadlock detected


def _is_retryable(exc: DBAPIError) -> bool:
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code in _PG_RETRYABLE:
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRYABLE:
        return True
    return "database is locked" in str(original)


def translate(exc: BaseException) -> BaseException | None:
    """The port-level error for a driver error, or None to let it through."""
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable("no database connection available in time")
    if isinstance(exc, DBAPIError):
        if _is_retryable(exc):
            return RetryableConflict(str(exc.orig))
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return DatabaseUnavailable("the database is unreachable")
    if isinstance(exc, OSError | ConnectionError):
        return DatabaseUnavailable("the database is unreachable")
    return None


class SqlUnitOfWork:
    products: ProductRepository
    users: UserRepository
    orders: OrderRepository
    payments: PaymentRepository
    idempotency: IdempotencyRepository

    def __init__(self, engine: AsyncEngine, *, write: bool) -> None:
        self._engine = engine
        self._write = write
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            conn = await self._engine.connect()
            if self._write:
                conn = await conn.execution_options(**{WRITE_OPTION: True})
            await conn.begin()
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from exc
        self._conn = conn
        self.products = SqlProductRepository(conn)
        self.users = SqlUserRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.payments = SqlPaymentRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        try:
            if conn.in_transaction():
                await conn.rollback()
        except Exception:  # noqa: S110 - the connection is discarded below; the first error wins
            pass
        finally:
            await conn.close()
        if exc is not None:
            translated = translate(exc)
            if translated is not None:
                raise translated from exc

    async def commit(self) -> None:
        assert self._conn is not None
        try:
            await self._conn.commit()
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from exc


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write)
