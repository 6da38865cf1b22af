"""The SQL unit of work: one connection, one transaction, the repositories inside it."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cloudmall.adapters.db.address_repository import SqlAddressRepository
from cloudmall.adapters.db.category_repository import SqlCategoryRepository
from cloudmall.adapters.db.consent_repository import SqlConsentRepository
from cloudmall.adapters.db.engine import STATEMENT_TIMEOUT_SECONDS, WRITE_OPTION
from cloudmall.adapters.db.idempotency_repository import SqlIdempotencyRepository
from cloudmall.adapters.db.inbox_repository import SqlInbox
from cloudmall.adapters.db.mail_repository import SqlMailDeliveries
from cloudmall.adapters.db.order_repository import SqlOrderRepository
from cloudmall.adapters.db.outbox_repository import SqlOutbox
from cloudmall.adapters.db.payment_repository import SqlPaymentRepository
from cloudmall.adapters.db.product_repository import SqlProductRepository
from cloudmall.adapters.db.refresh_token_repository import SqlRefreshTokenRepository
from cloudmall.adapters.db.reservation_repository import SqlReservationRepository
from cloudmall.adapters.db.user_repository import SqlUserRepository
from cloudmall.services.ports import (
    NO_TRACER,
    AddressRepository,
    CategoryRepository,
    ConsentRepository,
    DatabaseUnavailable,
    IdempotencyRepository,
    Inbox,
    MailDeliveries,
    OrderRepository,
    Outbox,
    PaymentRepository,
    ProductRepository,
    RefreshTokenRepository,
    ReservationRepository,
    RetryableConflict,
    Tracer,
    UserRepository,
)

# Deadlines on a networked database (MariaDB/MySQL, PostgreSQL), enforced by the app itself: a
# database that stops answering (a Multi-AZ failover, a dead host: the TCP connection stays open
# but silent) must turn into a quick 503, never a request that hangs. asyncmy has no read timeout
# at all, and a ping (or a first statement) on a dead connection would otherwise wait for the
# statement timeout.
ACQUIRE_SECONDS = 5.0  # get a connection (pool wait, ping, connect), BEGIN, and a first answer
TRANSACTION_SECONDS = STATEMENT_TIMEOUT_SECONDS + 5.0  # backstop for one whole unit of work
# Set on a checked-out connection: called when its first statement has answered.
_ON_FIRST_ANSWER = "cloudmall.on_first_answer"

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
    categories: CategoryRepository
    users: UserRepository
    orders: OrderRepository
    payments: PaymentRepository
    addresses: AddressRepository
    idempotency: IdempotencyRepository
    outbox: Outbox
    refresh_tokens: RefreshTokenRepository
    consents: ConsentRepository
    mail: MailDeliveries
    inbox: Inbox
    reservations: ReservationRepository

    def __init__(self, engine: AsyncEngine, *, write: bool, tracer: Tracer = NO_TRACER) -> None:
        self._engine = engine
        self._write = write
        self._tracer = tracer
        self._conn: AsyncConnection | None = None
        self._deadline: asyncio.Timeout | None = None
        self._limit = ACQUIRE_SECONDS
        self._info: dict[Any, Any] = {}

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
            # A connection used a moment ago skips its ping (see engine.py): until its first
            # answer proves it alive, the short deadline stands; then the transaction's own.
            self._info = conn.info
            self._info[_ON_FIRST_ANSWER] = self._first_answer
        self._conn = conn
        self.products = SqlProductRepository(conn)
        self.categories = SqlCategoryRepository(conn)
        self.users = SqlUserRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.payments = SqlPaymentRepository(conn)
        self.addresses = SqlAddressRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.outbox = SqlOutbox(conn, self._tracer)
        self.refresh_tokens = SqlRefreshTokenRepository(conn)
        self.consents = SqlConsentRepository(conn)
        self.mail = SqlMailDeliveries(conn)
        self.inbox = SqlInbox(conn)
        self.reservations = SqlReservationRepository(conn)
        return self

    def _first_answer(self) -> None:
        if self._deadline is not None:
            self._limit = TRANSACTION_SECONDS
            self._deadline.reschedule(asyncio.get_running_loop().time() + TRANSACTION_SECONDS)

    async def _leave_deadline(self, exc: BaseException | None, what: str) -> None:
        """Close the deadline's scope; if it fired, say so as DatabaseUnavailable."""
        deadline, self._deadline = self._deadline, None
        if deadline is None:
            return
        try:
            await deadline.__aexit__(type(exc) if exc else None, exc, None)
        except TimeoutError as timeout:
            raise DatabaseUnavailable(f"{what} {self._limit:g} s") from timeout

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        self._info.pop(_ON_FIRST_ANSWER, None)  # (conn.info itself may be gone with conn)
        try:
            expired = self._deadline is not None and self._deadline.expired()
            if expired or isinstance(exc, asyncio.CancelledError):
                # Cut off mid-statement: what the connection would read next is unknown.
                await _discard(conn)
            elif conn.in_transaction() and not conn.invalidated:
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


def _answered(conn: Connection, *_: object) -> None:
    """After each statement: the first one of a unit of work extends its deadline."""
    on_first_answer = conn.info.pop(_ON_FIRST_ANSWER, None)
    if on_first_answer is not None:
        on_first_answer()


class SqlUnitOfWorkFactory:
    """Units of work on `engine`; their outbox stamps events with `tracer`'s trace context."""

    def __init__(self, engine: AsyncEngine, *, tracer: Tracer = NO_TRACER) -> None:
        self.engine = engine
        self._tracer = tracer
        if engine.dialect.name != "sqlite":
            event.listen(engine.sync_engine, "after_cursor_execute", _answered)

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write, tracer=self._tracer)
