"""Repositories over one AsyncConnection: rows in, domain objects out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cloudmall.adapters.db.tables import (
    idempotency_keys,
    order_lines,
    orders,
    payments,
    products,
    users,
    utcnow,
)
from cloudmall.domain.errors import EmailTaken
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.payments import Payment, PaymentStatus
from cloudmall.domain.products import Product
from cloudmall.domain.users import Role, User
from cloudmall.services.ports import (
    IdempotencyRecord,
    NewIdempotencyRecord,
    NewOrder,
    NewProduct,
    ProductQuery,
    RetryableConflict,
)

_SORTS = {
    "id": (products.c.id,),
    "price": (products.c.price, products.c.id),
    "-price": (products.c.price.desc(), products.c.id),
    "name": (products.c.name, products.c.id),
    "newest": (products.c.created_at.desc(), products.c.id.desc()),
}


# Statements on the order path are built once: SQLAlchemy then reuses their compiled form
# without rebuilding the expression or its cache key on every request.
_PRODUCT_BY_ID = select(products).where(
    products.c.id == bindparam("product_id"), products.c.is_active.is_(True)
)
_PRODUCTS_BY_IDS = (
    select(products)
    .where(products.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(products.c.id)
)
_PRODUCTS_BY_IDS_LOCKED = _PRODUCTS_BY_IDS.with_for_update()
# No "enough left" condition: the rows are locked and already checked; should a count still
# fall below zero, the stock_not_negative constraint refuses it.
_TAKE_LOCKED_STOCK = (
    update(products)
    .where(products.c.id == bindparam("product_id"))
    .values(stock_quantity=products.c.stock_quantity - bindparam("quantity"))
)
_RETURN_STOCK = (
    update(products)
    .where(products.c.id == bindparam("product_id"))
    .values(stock_quantity=products.c.stock_quantity + bindparam("quantity"))
)
# One INSERT for many orders, their ids back in the order the rows were sent (RETURNING on
# PostgreSQL, SQLite and MariaDB; MySQL has no RETURNING: one INSERT per order there).
_INSERT_ORDERS_RETURNING = orders.insert().returning(orders.c.id, sort_by_parameter_order=True)
_INSERT_ORDER = orders.insert()
_INSERT_LINES = order_lines.insert()
_ORDER_BY_ID = select(orders).where(orders.c.id == bindparam("order_id"))
_LINES_OF_ORDERS = (
    select(order_lines)
    .where(order_lines.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(order_lines.c.order_id, order_lines.c.product_id)
)
_TRANSITION = (
    update(orders)
    .where(orders.c.id == bindparam("order_id"), orders.c.status == bindparam("source"))
    .values(status=bindparam("target"), updated_at=bindparam("now"))
)
_IDEMPOTENCY_RECORD = select(
    idempotency_keys.c.fingerprint, idempotency_keys.c.response, idempotency_keys.c.created_at
).where(
    idempotency_keys.c.user_id == bindparam("user_id"),
    idempotency_keys.c.scope == bindparam("scope"),
    idempotency_keys.c.idem_key == bindparam("key"),
)
_INSERT_IDEMPOTENCY = idempotency_keys.insert()


def _product(row: Row[Any]) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        price=Decimal(row.price).quantize(Decimal("0.01")),
        description=row.description,
        category=row.category,
        stock_quantity=row.stock_quantity,
        image_key=row.image_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        created_at=row.created_at,
        token_version=row.token_version,
    )


# MariaDB and MySQL report a failed CHECK constraint as an operational error, by these codes.
_MYSQL_CHECK_FAILED = {3819, 4025}


def _check_failed(exc: DBAPIError) -> bool:
    """True if the database refused a row for a CHECK (or other integrity) constraint."""
    args = getattr(exc.orig, "args", ())
    return isinstance(exc, IntegrityError) or bool(args and args[0] in _MYSQL_CHECK_FAILED)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _filtered(self, statement: Select[Any], query: ProductQuery) -> Select[Any]:
        statement = statement.where(products.c.is_active.is_(True))
        if query.category:
            statement = statement.where(products.c.category == query.category)
        if query.search:
            pattern = f"%{_escape_like(query.search.lower())}%"
            statement = statement.where(
                or_(
                    func.lower(products.c.name).like(pattern, escape="\\"),
                    func.lower(products.c.description).like(pattern, escape="\\"),
                )
            )
        return statement

    async def get(self, product_id: int) -> Product | None:
        row = (await self._conn.execute(_PRODUCT_BY_ID, {"product_id": product_id})).first()
        return _product(row) if row else None

    async def get_many(
        self, product_ids: Collection[int], *, lock: bool = False
    ) -> dict[int, Product]:
        if not product_ids:
            return {}
        # Locked rows are taken in id order, so concurrent orders never deadlock one another.
        # (SQLite has no row locks: its writers already hold the database lock.)
        statement = _PRODUCTS_BY_IDS_LOCKED if lock else _PRODUCTS_BY_IDS
        rows = await self._conn.execute(statement, {"ids": sorted(product_ids)})
        return {row.id: _product(row) for row in rows if row.is_active}

    async def search(self, query: ProductQuery) -> list[Product]:
        statement = self._filtered(select(products), query).order_by(*_SORTS[query.sort])
        statement = statement.limit(query.limit).offset(query.offset)
        return [_product(row) for row in await self._conn.execute(statement)]

    async def count(self, query: ProductQuery) -> int:
        statement = self._filtered(select(func.count()).select_from(products), query)
        return int((await self._conn.execute(statement)).scalar_one())

    async def categories(self) -> list[str]:
        rows = await self._conn.execute(
            select(products.c.category)
            .where(products.c.is_active.is_(True))
            .distinct()
            .order_by(products.c.category)
        )
        return [row.category for row in rows]

    async def low_stock(self, threshold: int) -> list[Product]:
        rows = await self._conn.execute(
            select(products)
            .where(products.c.is_active.is_(True), products.c.stock_quantity <= threshold)
            .order_by(products.c.stock_quantity, products.c.id)
            .limit(50)
        )
        return [_product(row) for row in rows]

    async def add(self, new: NewProduct) -> Product:
        now = utcnow()
        result = await self._conn.execute(
            products.insert().values(
                name=new.name,
                price=new.price,
                description=new.description,
                category=new.category,
                stock_quantity=new.stock_quantity,
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        product_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        created = await self.get(int(product_id)) if product_id is not None else None
        assert created is not None
        return created

    async def update(self, product_id: int, changes: Mapping[str, object]) -> Product | None:
        result = await self._conn.execute(
            update(products)
            .where(products.c.id == product_id, products.c.is_active.is_(True))
            .values(**changes, updated_at=utcnow())
        )
        if result.rowcount == 0:
            return None
        return await self.get(product_id)

    async def delete(self, product_id: int) -> bool:
        result = await self._conn.execute(
            update(products)
            .where(products.c.id == product_id, products.c.is_active.is_(True))
            .values(is_active=False, updated_at=utcnow())
        )
        return bool(result.rowcount)

    async def take_locked_stock(self, taken: Mapping[int, int]) -> None:
        params = [{"product_id": pid, "quantity": taken[pid]} for pid in sorted(taken)]
        try:
            await self._conn.execute(_TAKE_LOCKED_STOCK, params)
        except DBAPIError as exc:
            if not _check_failed(exc):
                raise
            raise RetryableConflict("stock changed under a lock") from exc

    async def return_stock(self, product_id: int, quantity: int) -> None:
        await self._conn.execute(_RETURN_STOCK, {"product_id": product_id, "quantity": quantity})

    async def image_keys(self) -> set[str]:
        rows = await self._conn.execute(
            select(products.c.image_key).where(products.c.image_key.is_not(None))
        )
        return {row.image_key for row in rows}


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, user_id: int) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

    async def add(self, *, email: str, name: str, role: Role, password_hash: str) -> User:
        now = utcnow()
        try:
            result = await self._conn.execute(
                users.insert().values(
                    email=email,
                    name=name,
                    role=role.value,
                    password_hash=password_hash,
                    created_at=now,
                    updated_at=now,
                )
            )
        except IntegrityError as exc:
            raise EmailTaken("An account with this email already exists") from exc
        user = await self.get(int(result.inserted_primary_key[0]))  # type: ignore[index]
        assert user is not None
        return user

    async def update(self, user_id: int, changes: Mapping[str, object]) -> None:
        await self._conn.execute(
            update(users).where(users.c.id == user_id).values(**changes, updated_at=utcnow())
        )

    async def change_credentials(
        self, user_id: int, *, role: Role | None = None, password_hash: str | None = None
    ) -> bool:
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = role.value
        if password_hash is not None:
            values["password_hash"] = password_hash
            values["token_version"] = users.c.token_version + 1
        result = await self._conn.execute(
            update(users).where(users.c.id == user_id).values(**values, updated_at=utcnow())
        )
        return bool(result.rowcount)

    async def count(self) -> int:
        return int((await self._conn.execute(select(func.count()).select_from(users))).scalar_one())


class SqlOrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _with_lines(self, rows: list[Row[Any]]) -> list[Order]:
        if not rows:
            return []
        line_rows = await self._conn.execute(_LINES_OF_ORDERS, {"ids": [row.id for row in rows]})
        lines: dict[int, list[OrderLine]] = defaultdict(list)
        for line in line_rows:
            lines[line.order_id].append(
                OrderLine(
                    product_id=line.product_id,
                    product_name=line.product_name,
                    quantity=line.quantity,
                    unit_price=Decimal(line.unit_price).quantize(Decimal("0.01")),
                )
            )
        return [
            Order(
                id=row.id,
                user_id=row.user_id,
                status=OrderStatus(row.status),
                total_amount=Decimal(row.total_amount).quantize(Decimal("0.01")),
                lines=tuple(lines[row.id]),
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    async def _insert_orders(self, rows: list[dict[str, Any]]) -> list[int]:
        if self._conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            return list((await self._conn.execute(_INSERT_ORDERS_RETURNING, rows)).scalars())
        ids = []
        for row in rows:
            result = await self._conn.execute(_INSERT_ORDER, row)
            ids.append(int(result.inserted_primary_key[0]))  # type: ignore[index]
        return ids

    async def add_many(self, new: Sequence[NewOrder]) -> list[Order]:
        now = utcnow()
        status = OrderStatus.PENDING
        ids = await self._insert_orders(
            [
                {
                    "user_id": order.user_id,
                    "total_amount": order.total,
                    "status": status.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for order in new
            ]
        )
        await self._conn.execute(
            _INSERT_LINES,
            [
                {
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "product_name": line.product_name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for order_id, order in zip(ids, new, strict=True)
                for line in order.lines
            ],
        )
        return [
            Order(
                id=order_id,
                user_id=order.user_id,
                status=status,
                total_amount=order.total,
                lines=order.lines,
                created_at=now,
                updated_at=now,
            )
            for order_id, order in zip(ids, new, strict=True)
        ]

    async def get(self, order_id: int) -> Order | None:
        rows = list(await self._conn.execute(_ORDER_BY_ID, {"order_id": order_id}))
        found = await self._with_lines(rows)
        return found[0] if found else None

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> list[Order]:
        rows = await self._conn.execute(
            select(orders)
            .where(orders.c.user_id == user_id)
            .order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self._with_lines(list(rows))

    async def list_all(self, *, status: OrderStatus | None, limit: int, offset: int) -> list[Order]:
        statement = select(orders)
        if status is not None:
            statement = statement.where(orders.c.status == status.value)
        rows = await self._conn.execute(
            statement.order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self._with_lines(list(rows))

    async def transition(self, order_id: int, source: OrderStatus, target: OrderStatus) -> bool:
        params = {
            "order_id": order_id,
            "source": source.value,
            "target": target.value,
            "now": utcnow(),
        }
        return (await self._conn.execute(_TRANSITION, params)).rowcount == 1

    async def placed_since(self, since: datetime) -> tuple[int, Decimal]:
        row = (
            await self._conn.execute(
                select(func.count(), func.coalesce(func.sum(orders.c.total_amount), 0)).where(
                    and_(
                        orders.c.created_at >= since,
                        orders.c.status != OrderStatus.CANCELLED.value,
                    )
                )
            )
        ).one()
        return int(row[0]), Decimal(row[1]).quantize(Decimal("0.01"))


class SqlPaymentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, *, order_id: int, amount: Decimal, reference: str, card_last4: str
    ) -> Payment:
        now = utcnow()
        result = await self._conn.execute(
            payments.insert().values(
                order_id=order_id,
                amount=amount,
                status=PaymentStatus.CAPTURED.value,
                provider_reference=reference,
                card_last4=card_last4,
                created_at=now,
            )
        )
        return Payment(
            id=int(result.inserted_primary_key[0]),  # type: ignore[index]
            order_id=order_id,
            amount=amount,
            status=PaymentStatus.CAPTURED,
            provider_reference=reference,
            card_last4=card_last4,
            created_at=now,
        )

    async def for_order(self, order_id: int) -> list[Payment]:
        rows = await self._conn.execute(
            select(payments).where(payments.c.order_id == order_id).order_by(payments.c.id)
        )
        return [
            Payment(
                id=row.id,
                order_id=row.order_id,
                amount=Decimal(row.amount).quantize(Decimal("0.01")),
                status=PaymentStatus(row.status),
                provider_reference=row.provider_reference,
                card_last4=row.card_last4,
                created_at=row.created_at,
            )
            for row in rows
        ]


class SqlIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, *, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
        params = {"user_id": user_id, "scope": scope, "key": key}
        row = (await self._conn.execute(_IDEMPOTENCY_RECORD, params)).first()
        return IdempotencyRecord(row.fingerprint, row.response, row.created_at) if row else None

    async def get_many(
        self, *, scope: str, keys: Collection[tuple[int, str]]
    ) -> dict[tuple[int, str], IdempotencyRecord]:
        if not keys:
            return {}
        # Two IN lists (which the unique index serves) rather than a row-value IN; the pairs
        # that were not asked for are dropped here.
        rows = await self._conn.execute(
            select(
                idempotency_keys.c.user_id,
                idempotency_keys.c.idem_key,
                idempotency_keys.c.fingerprint,
                idempotency_keys.c.response,
                idempotency_keys.c.created_at,
            ).where(
                idempotency_keys.c.user_id.in_({user_id for user_id, _ in keys}),
                idempotency_keys.c.scope == scope,
                idempotency_keys.c.idem_key.in_({key for _, key in keys}),
            )
        )
        wanted = set(keys)
        return {
            (row.user_id, row.idem_key): IdempotencyRecord(
                row.fingerprint, row.response, row.created_at
            )
            for row in rows
            if (row.user_id, row.idem_key) in wanted
        }

    def _where(self, user_id: int, scope: str, key: str) -> tuple[ColumnElement[bool], ...]:
        return (
            idempotency_keys.c.user_id == user_id,
            idempotency_keys.c.scope == scope,
            idempotency_keys.c.idem_key == key,
        )

    async def claim(self, *, user_id: int, scope: str, key: str, fingerprint: str) -> bool:
        try:
            await self.save_many([NewIdempotencyRecord(user_id, scope, key, fingerprint, "")])
        except RetryableConflict:
            return False
        return True

    async def take_over(
        self, *, user_id: int, scope: str, key: str, claimed_before: datetime
    ) -> bool:
        result = await self._conn.execute(
            update(idempotency_keys)
            .where(
                *self._where(user_id, scope, key),
                idempotency_keys.c.response == "",
                idempotency_keys.c.created_at < claimed_before,
            )
            .values(created_at=utcnow())
        )
        return bool(result.rowcount == 1)

    async def complete(self, *, user_id: int, scope: str, key: str, response: str) -> None:
        result = await self._conn.execute(
            update(idempotency_keys)
            .where(*self._where(user_id, scope, key), idempotency_keys.c.response == "")
            .values(response=response)
        )
        if result.rowcount != 1:
            raise RetryableConflict("the idempotency key is no longer in progress")

    async def release(self, *, user_id: int, scope: str, key: str) -> None:
        await self._conn.execute(
            delete(idempotency_keys).where(
                *self._where(user_id, scope, key), idempotency_keys.c.response == ""
            )
        )

    async def save_many(self, records: Sequence[NewIdempotencyRecord]) -> None:
        now = utcnow()
        rows = [
            {
                "user_id": record.user_id,
                "scope": record.scope,
                "idem_key": record.key,
                "fingerprint": record.fingerprint,
                "response": record.response,
                "created_at": now,
            }
            for record in records
        ]
        try:
            await self._conn.execute(_INSERT_IDEMPOTENCY, rows)
        except IntegrityError as exc:
            # A concurrent request with the same key committed first: run again to replay it.
            raise RetryableConflict("idempotency key taken concurrently") from exc
