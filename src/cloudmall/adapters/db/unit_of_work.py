"""The SQL unit of work: one connection, one transaction, the repositories inside it."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cloudmall.adapters.db.engine import STATEMENT_TIMEOUT_SECONDS, WRITE_OPTION
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

# Deadlines on a networked database (MariaDB/MySQL, PostgreSQL), enforced by the app itself: a
# database that stops answering (a Multi-AZ failover, a dead host: the TCP connection stays open
# but silent) must turn into a quick 503, never a request that hangs. asyncmy has no read timeout
# at all, and a pool pre-ping on a dead connection would otherwise wait for the statement timeout.
ACQUIRE_SECONDS = 5.0  # get a connection (pool wait, pre-ping, connect) and BEGIN
TRANSACTION_SECONDS = STATEMENT_TIMEOUT_SECONDS + 5.0  # backstop for one whole unit of work

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
    if isinstance(exc, DatabaseUnavailable):
        return exc
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
        self._deadline: asyncio.Timeout | None = None

    async def __aenter__(self) -> Self:
        if self._engine.dialect.name != "sqlite":  # a local file cannot vanish from the network
            self._deadline = asyncio.timeout(ACQUIRE_SECONDS)
            await self._deadline.__aenter__()
        try:
            conn = await self._engine.connect()
            if self._write:
                conn = await conn.execution_options(**{WRITE_OPTION: True})
            await conn.begin()
        except BaseException as exc:
            await self._leave_deadline(exc, "no database connection within")
            translated = translate(exc)
            if translated is None and isinstance(exc, Exception):
                # Nothing of ours ran yet: any failure to connect means the database is not there
                # (asyncmy, for one, raises RuntimeError for a connection reset while opening).
                translated = DatabaseUnavailable(f"cannot connect: {exc!r}"[:200])
            if translated is None:
                raise
            raise translated from exc
        if self._deadline is not None:
            self._deadline.reschedule(asyncio.get_running_loop().time() + TRANSACTION_SECONDS)
        self._conn = conn
        self.products = SqlProductRepository(conn)
        self.users = SqlUserRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.payments = SqlPaymentRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        return self

    async def _leave_deadline(self, exc: BaseException | None, what: str) -> None:
        """Close the deadline's scope; if it fired, say so as DatabaseUnavailable."""
        deadline, self._deadline = self._deadline, None
        if deadline is None:
            return
        seconds = ACQUIRE_SECONDS if what.startswith("no database") else TRANSACTION_SECONDS
        try:
            await deadline.__aexit__(type(exc) if exc else None, exc, None)
        except TimeoutError as timeout:
            raise DatabaseUnavailable(f"{what} {seconds:g} s") from timeout

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        try:
            if conn.in_transaction() and not conn.invalidated:
                # Bounded: a rollback on a connection to a silent database must not hang either.
                await asyncio.wait_for(conn.rollback(), ACQUIRE_SECONDS)
        except Exception:  # the connection is discarded; the first error wins
            await _discard(conn)
        finally:
            await conn.close()
        await self._leave_deadline(exc, "the database did not answer within")
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


async def _discard(conn: AsyncConnection) -> None:
    """Drop a connection that failed mid-way, so the pool never hands it out again."""
    with contextlib.suppress(Exception):  # it is being thrown away
        await conn.invalidate()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write)
