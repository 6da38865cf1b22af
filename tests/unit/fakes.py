"""In-memory fakes of the ports: the services run against them with no I/O."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from cloudmall.domain.cards import Card
from cloudmall.domain.consents import Consent
from cloudmall.domain.delivery import Address, SavedAddress, Shipment
from cloudmall.domain.errors import EmailTaken, ResetLinkExpired, ResetLinkInvalid
from cloudmall.domain.events import Event
from cloudmall.domain.orders import Order, OrderStatus
from cloudmall.domain.payments import UNSETTLED, ChargeResult, Payment, PaymentStatus
from cloudmall.domain.products import Category, Product
from cloudmall.domain.reservations import Reservation, ReservationStatus
from cloudmall.domain.sessions import NewRefreshToken, RefreshToken
from cloudmall.domain.users import Role, User
from cloudmall.services.ports import (
    NO_LIST_PRICE,
    NO_TRACER,
    BrokerUnavailable,
    CacheUnavailable,
    Delivery,
    IdempotencyRecord,
    Mail,
    MailRejected,
    MailState,
    MailUnavailable,
    NewIdempotencyRecord,
    NewOrder,
    NewProduct,
    NewReservation,
    OutboxBatch,
    OutboxEntry,
    Principal,
    ProductChanges,
    ProductQuery,
    RetryableConflict,
    SpanKind,
    Tracer,
)
from cloudmall.services.trace_context import stamped


def now() -> datetime:
    return datetime.now(UTC)


#: A delivery address for orders that need one (paying, shipping).
HOME = Address("김민지", "010-1234-5678", "06236", "서울 강남구 테헤란로 152", "12층")


@dataclass
class FakeData:
    """The 'database': committed state shared by every unit of work."""

    products: dict[int, Product] = field(default_factory=dict)
    inactive: set[int] = field(default_factory=set)
    categories: dict[int, Category] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    payments: dict[int, Payment] = field(default_factory=dict)
    payment_changed: dict[int, datetime] = field(default_factory=dict)  # each one's updated_at
    addresses: dict[int, SavedAddress] = field(default_factory=dict)
    idempotency: dict[tuple[int, str, str], IdempotencyRecord] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    claims: dict[tuple[str, int], tuple[str, bool]] = field(default_factory=dict)
    refresh_tokens: dict[int, RefreshToken] = field(default_factory=dict)
    consents: dict[int, list[Consent]] = field(default_factory=dict)
    mail: dict[str, tuple[bool, datetime]] = field(default_factory=dict)  # event id → (sent, at)
    inbox: set[tuple[str, str]] = field(default_factory=set)  # (consumer, event id)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1))


class FakeProducts:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    def _active(self) -> list[Product]:
        return [p for pid, p in sorted(self.data.products.items()) if pid not in self.data.inactive]

    def _matching(self, query: ProductQuery) -> list[Product]:
        found = self._active()
        if query.category:
            found = [p for p in found if p.category == query.category]
        if query.search:
            needle = query.search.lower()
            found = [
                p for p in found if needle in p.name.lower() or needle in p.description.lower()
            ]
        return found

    async def get(self, product_id: int) -> Product | None:
        if product_id in self.data.inactive or product_id not in self.data.products:
            return None
        product = self.data.products[product_id]
        category = next(
            (c for c in self.data.categories.values() if c.slug == product.category), None
        )
        return replace(
            product,
            category_name=category.name if category else None,
            category_name_en=category.name_en if category else None,
        )

    async def get_many(
        self, product_ids: Collection[int], *, lock: bool = False
    ) -> dict[int, Product]:
        return {pid: p for pid in product_ids if (p := await self.get(pid)) is not None}

    async def search(self, query: ProductQuery) -> list[Product]:
        found = self._matching(query)
        end = None if query.limit is None else query.offset + query.limit
        return found[query.offset : end]

    async def count(self, query: ProductQuery) -> int:
        return len(self._matching(query))

    async def low_stock(self, threshold: int) -> list[Product]:
        return [p for p in self._active() if p.stock_quantity <= threshold]

    async def add(self, new: NewProduct) -> Product:
        product = Product(
            id=next(self.data.ids),
            name=new.name,
            price=new.price,
            description=new.description,
            category=new.category,
            stock_quantity=new.stock_quantity,
            image_key=None,
            created_at=now(),
            updated_at=now(),
            name_en=new.name_en,
            description_en=new.description_en,
            list_price=new.list_price,
        )
        self.data.products[product.id] = product
        return await self.get(product.id) or product

    async def update(self, product_id: int, changes: ProductChanges) -> Product | None:
        product = await self.get(product_id)
        if product is None:
            return None
        given = changes.given()
        for text in ("name_en", "description_en"):
            if given.get(text) == "":
                given[text] = None
        if given.get("list_price") == NO_LIST_PRICE:
            given["list_price"] = None
        updated = replace(product, **given, updated_at=now())  # type: ignore[arg-type]
        self.data.products[product_id] = updated
        return await self.get(product_id)

    async def delete(self, product_id: int) -> bool:
        if await self.get(product_id) is None:
            return False
        self.data.inactive.add(product_id)
        return True

    async def take_locked_stock(self, taken: Mapping[int, int]) -> None:
        for product_id, quantity in taken.items():
            product = self.data.products[product_id]
            if product.stock_quantity < quantity:
                raise RetryableConflict("stock_not_negative")
            self.data.products[product_id] = replace(
                product, stock_quantity=product.stock_quantity - quantity
            )

    async def return_stock(self, product_id: int, quantity: int) -> None:
        product = self.data.products[product_id]
        self.data.products[product_id] = replace(
            product, stock_quantity=product.stock_quantity + quantity
        )

    async def image_keys(self) -> set[str]:
        return {p.image_key for p in self.data.products.values() if p.image_key}


class FakeCategories:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    def _counted(self, category: Category) -> Category:
        on_sale = [
            p
            for pid, p in self.data.products.items()
            if p.category == category.slug and pid not in self.data.inactive
        ]
        return replace(category, products=len(on_sale))

    async def list(self) -> list[Category]:
        return sorted(
            (self._counted(c) for c in self.data.categories.values()), key=lambda c: c.slug
        )

    async def get(self, category_id: int) -> Category | None:
        found = self.data.categories.get(category_id)
        return self._counted(found) if found else None

    async def by_slug(self, slug: str) -> Category | None:
        found = [c for c in self.data.categories.values() if c.slug == slug]
        return self._counted(found[0]) if found else None

    async def add(self, slug: str, name: str, name_en: str) -> Category:
        category = Category(next(self.data.ids), slug, name, name_en)
        self.data.categories[category.id] = category
        return category

    async def rename(self, category_id: int, name: str, name_en: str) -> Category | None:
        if category_id not in self.data.categories:
            return None
        renamed = replace(self.data.categories[category_id], name=name, name_en=name_en)
        self.data.categories[category_id] = renamed
        return await self.get(category_id)

    async def delete(self, category_id: int) -> bool:
        found = await self.get(category_id)
        if found is None or found.products:
            return False
        del self.data.categories[category_id]
        return True


class FakeUsers:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def get(self, user_id: int) -> User | None:
        return self.data.users.get(user_id)

    async def get_many(self, user_ids: Collection[int]) -> dict[int, User]:
        return {i: self.data.users[i] for i in user_ids if i in self.data.users}

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.data.users.values() if u.email == email), None)

    async def add(
        self,
        *,
        email: str,
        name: str,
        role: Role,
        password_hash: str,
        language: str = "ko",
        must_change_password: bool = False,
    ) -> User:
        if await self.get_by_email(email):
            raise EmailTaken("An account with this email already exists")
        user = User(
            id=next(self.data.ids),
            email=email,
            name=name,
            role=role,
            password_hash=password_hash,
            created_at=now(),
            language=language,
            must_change_password=must_change_password,
        )
        self.data.users[user.id] = user
        return user

    async def update(self, user_id: int, changes: Mapping[str, object]) -> None:
        user = self.data.users[user_id]
        values = {k: Role(v) if k == "role" else v for k, v in changes.items()}
        self.data.users[user_id] = replace(user, **values)  # type: ignore[arg-type]

    async def change_credentials(
        self,
        user_id: int,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        must_change_password: bool = False,
        if_token_version: int | None = None,
    ) -> bool:
        user = self.data.users.get(user_id)
        if user is None or if_token_version not in (None, user.token_version):
            return False
        self.data.users[user_id] = replace(
            user,
            role=role or user.role,
            password_hash=password_hash or user.password_hash,
            token_version=user.token_version + (password_hash is not None),
            must_change_password=(
                must_change_password if password_hash is not None else user.must_change_password
            ),
        )
        return True

    async def count(self) -> int:
        return len(self.data.users)


class FakeOrders:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def add_many(self, new: Sequence[NewOrder]) -> list[Order]:
        held = {o.reservation_id for o in self.data.orders.values()} - {None}
        asked = [order.reservation_id for order in new if order.reservation_id is not None]
        if len(set(asked)) < len(asked) or held & set(asked):
            raise RetryableConflict("a reservation is held by an order already")
        added = [
            Order(
                id=next(self.data.ids),
                user_id=order.user_id,
                status=OrderStatus.PENDING,
                total_amount=order.total,
                lines=order.lines,
                created_at=now(),
                updated_at=now(),
                subtotal=order.subtotal,
                delivery_fee=order.delivery_fee,
                address=order.address,
                reservation_id=order.reservation_id,
            )
            for order in new
        ]
        self.data.orders.update((order.id, order) for order in added)
        return added

    async def get(self, order_id: int) -> Order | None:
        return self.data.orders.get(order_id)

    async def by_reservation(self, reservation_id: str) -> Order | None:
        found = [o for o in self.data.orders.values() if o.reservation_id == reservation_id]
        return found[0] if found else None

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> list[Order]:
        mine = [o for o in reversed(self.data.orders.values()) if o.user_id == user_id]
        return mine[offset : offset + limit]

    async def list_all(self, *, status: OrderStatus | None, limit: int, offset: int) -> list[Order]:
        found = [
            o for o in reversed(self.data.orders.values()) if status is None or o.status is status
        ]
        return found[offset : offset + limit]

    async def transition(self, order_id: int, source: OrderStatus, target: OrderStatus) -> bool:
        order = self.data.orders.get(order_id)
        if order is None or order.status is not source:
            return False
        self.data.orders[order_id] = replace(order, status=target, updated_at=now())
        return True

    async def placed_since(self, since: datetime) -> tuple[int, Decimal]:
        live = [
            o
            for o in self.data.orders.values()
            if o.created_at >= since and o.status is not OrderStatus.CANCELLED
        ]
        return len(live), sum((o.total_amount for o in live), Decimal("0.00"))

    async def count_with_status(self, status: OrderStatus) -> int:
        return sum(1 for o in self.data.orders.values() if o.status is status)

    async def set_address(self, order_id: int, address: Address) -> None:
        order = self.data.orders[order_id]
        self.data.orders[order_id] = replace(order, address=address, updated_at=now())

    async def set_shipment(self, order_id: int, shipment: Shipment) -> None:
        self.data.orders[order_id] = replace(self.data.orders[order_id], shipment=shipment)


class FakeAddresses:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def list_for_user(self, user_id: int) -> list[SavedAddress]:
        mine = [a for a in reversed(self.data.addresses.values()) if a.user_id == user_id]
        return sorted(mine, key=lambda a: not a.is_default)

    async def get(self, user_id: int, address_id: int) -> SavedAddress | None:
        found = self.data.addresses.get(address_id)
        return found if found is not None and found.user_id == user_id else None

    def _clear_default(self, user_id: int) -> None:
        for saved in list(self.data.addresses.values()):
            if saved.user_id == user_id and saved.is_default:
                self.data.addresses[saved.id] = replace(saved, is_default=False)

    async def add(self, user_id: int, address: Address, *, make_default: bool) -> SavedAddress:
        if make_default:
            self._clear_default(user_id)
        saved = SavedAddress(next(self.data.ids), user_id, address, make_default)
        self.data.addresses[saved.id] = saved
        return saved

    async def delete(self, user_id: int, address_id: int) -> bool:
        if await self.get(user_id, address_id) is None:
            return False
        del self.data.addresses[address_id]
        return True

    async def set_default(self, user_id: int, address_id: int) -> bool:
        found = await self.get(user_id, address_id)
        if found is None:
            return False
        self._clear_default(user_id)
        self.data.addresses[address_id] = replace(found, is_default=True)
        return True


class FakePayments:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def add(
        self, *, order_id: int, amount: Decimal, intent_key: str, card_last4: str
    ) -> Payment:
        if any(p.intent_key == intent_key for p in self.data.payments.values()):
            raise RetryableConflict("intent key taken")
        payment = Payment(
            id=next(self.data.ids),
            order_id=order_id,
            amount=amount,
            status=PaymentStatus.PENDING,
            intent_key=intent_key,
            provider_reference=None,
            card_last4=card_last4,
            created_at=now(),
        )
        self.data.payments[payment.id] = payment
        self.data.payment_changed[payment.id] = payment.created_at
        return payment

    async def for_order(self, order_id: int) -> list[Payment]:
        return [p for p in self.data.payments.values() if p.order_id == order_id]

    async def transition(
        self, payment: Payment, target: PaymentStatus, *, provider_reference: str | None = None
    ) -> bool:
        found = self.data.payments.get(payment.id)
        if found is None or found.status is not payment.status:
            return False
        self.data.payments[payment.id] = replace(
            found,
            status=target,
            provider_reference=provider_reference or found.provider_reference,
        )
        self.data.payment_changed[payment.id] = now()
        return True

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        due = [
            p
            for p in self.data.payments.values()
            if p.status in UNSETTLED and self.data.payment_changed[p.id] < updated_before
        ]
        return sorted(due, key=lambda p: (self.data.payment_changed[p.id], p.id))[:limit]


class FakeIdempotency:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def get(self, *, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
        return self.data.idempotency.get((user_id, scope, key))

    async def get_many(
        self, *, scope: str, keys: Collection[tuple[int, str]]
    ) -> dict[tuple[int, str], IdempotencyRecord]:
        stored = self.data.idempotency
        return {(u, k): stored[(u, scope, k)] for u, k in keys if (u, scope, k) in stored}

    async def claim(self, *, user_id: int, scope: str, key: str, fingerprint: str) -> bool:
        if (user_id, scope, key) in self.data.idempotency:
            return False
        self.data.idempotency[(user_id, scope, key)] = IdempotencyRecord(fingerprint, "", now())
        return True

    async def take_over(
        self, *, user_id: int, scope: str, key: str, claimed_before: datetime
    ) -> bool:
        record = self.data.idempotency.get((user_id, scope, key))
        if record is None or not record.in_progress or record.created_at >= claimed_before:  # type: ignore[operator]
            return False
        self.data.idempotency[(user_id, scope, key)] = replace(record, created_at=now())
        return True

    async def complete(self, *, user_id: int, scope: str, key: str, response: str) -> None:
        record = self.data.idempotency.get((user_id, scope, key))
        if record is None or not record.in_progress:
            raise RetryableConflict("not in progress")
        self.data.idempotency[(user_id, scope, key)] = replace(record, response=response)

    async def release(self, *, user_id: int, scope: str, key: str) -> None:
        record = self.data.idempotency.get((user_id, scope, key))
        if record is not None and record.in_progress:
            del self.data.idempotency[(user_id, scope, key)]

    async def save_many(self, records: Sequence[NewIdempotencyRecord]) -> None:
        keys = [(record.user_id, record.scope, record.key) for record in records]
        if len(set(keys)) < len(keys) or any(key in self.data.idempotency for key in keys):
            raise RetryableConflict("taken")
        for key, record in zip(keys, records, strict=True):
            self.data.idempotency[key] = IdempotencyRecord(
                record.fingerprint, record.response, now()
            )


class FakeOutbox:
    """The outbox's contract in memory: claims by (consumer, position) → (batch, finished);
    events stamped with the writer's trace context, as the adapters do."""

    def __init__(self, data: FakeData, tracer: Tracer = NO_TRACER) -> None:
        self.data = data
        self.tracer = tracer

    @property
    def events(self) -> list[Event]:
        return [entry.event for entry in self.data.outbox]

    async def add(self, events: Sequence[Event]) -> None:
        for event in stamped(events, self.tracer.traceparent()):
            self.data.outbox.append(OutboxEntry(next(self.data.ids), event))

    async def claim(self, consumer: str, limit: int, *, gaps: bool) -> OutboxBatch | None:
        claims = self.data.claims
        open_batches = sorted(
            b for (c, _), (b, done) in claims.items() if c == consumer and not done
        )
        if open_batches:
            name = open_batches[0]
            entries = [
                e for e in self.data.outbox if claims.get((consumer, e.position)) == (name, False)
            ]
            return OutboxBatch(consumer, name, tuple(entries))
        highest = max((p for c, p in claims if c == consumer), default=0)
        fresh = [
            e
            for e in sorted(self.data.outbox, key=lambda e: e.position)
            if (consumer, e.position) not in claims and (gaps or e.position > highest)
        ][:limit]
        if not fresh:
            return None
        name = f"{fresh[0].position:012d}-{len(fresh)}"
        for entry in fresh:
            claims[(consumer, entry.position)] = (name, False)
        return OutboxBatch(consumer, name, tuple(fresh))

    async def finish(self, consumer: str, batch: str) -> None:
        for key, (name, _) in list(self.data.claims.items()):
            if key[0] == consumer and name == batch:
                self.data.claims[key] = (name, True)

    async def purge(self, consumers: Collection[str], limit: int) -> int:
        done = (
            [
                e.position
                for e in self.data.outbox
                if all(self.data.claims.get((c, e.position), ("", False))[1] for c in consumers)
            ][:limit]
            if consumers
            else []
        )
        self.data.outbox = [e for e in self.data.outbox if e.position not in done]
        self.data.claims = {k: v for k, v in self.data.claims.items() if k[1] not in done}
        return len(done)

    async def backlog(self, consumer: str) -> int:
        return sum(
            1
            for e in self.data.outbox
            if not self.data.claims.get((consumer, e.position), ("", False))[1]
        )


class FakeRefreshTokens:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def add(self, new: NewRefreshToken) -> RefreshToken:
        token = RefreshToken(id=next(self.data.ids), **vars_of(new))
        self.data.refresh_tokens[token.id] = token
        return token

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        found = (t for t in self.data.refresh_tokens.values() if t.token_hash == token_hash)
        return next(found, None)

    async def rotate(self, token_id: int, at: datetime) -> bool:
        token = self.data.refresh_tokens[token_id]
        if token.rotated_at is not None or token.revoked_at is not None:
            return False
        self.data.refresh_tokens[token_id] = replace(token, rotated_at=at)
        return True

    async def _revoke(self, at: datetime, **match: object) -> int:
        chosen = [
            t
            for t in self.data.refresh_tokens.values()
            if t.revoked_at is None and all(getattr(t, k) == v for k, v in match.items())
        ]
        for token in chosen:
            self.data.refresh_tokens[token.id] = replace(token, revoked_at=at)
        return len(chosen)

    async def revoke_family(self, family: str, at: datetime) -> int:
        return await self._revoke(at, family=family)

    async def revoke_user(self, user_id: int, at: datetime) -> int:
        return await self._revoke(at, user_id=user_id)

    async def delete_expired(self, user_id: int, now: datetime) -> int:
        gone = [
            t.id
            for t in self.data.refresh_tokens.values()
            if t.user_id == user_id and t.expires_at <= now
        ]
        for token_id in gone:
            del self.data.refresh_tokens[token_id]
        return len(gone)


def vars_of(new: NewRefreshToken) -> dict[str, Any]:
    return {name: getattr(new, name) for name in new.__dataclass_fields__}


class FakeConsents:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def add(self, user_id: int, consents: Sequence[Consent]) -> None:
        self.data.consents.setdefault(user_id, []).extend(consents)

    async def for_user(self, user_id: int) -> list[Consent]:
        return list(self.data.consents.get(user_id, []))


class FakeMailDeliveries:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def take(
        self, event_ids: Sequence[str], *, stale_before: datetime
    ) -> dict[str, MailState]:
        states: dict[str, MailState] = {}
        for event_id in event_ids:
            record = self.data.mail.get(event_id)
            if record is not None and record[0]:
                states[event_id] = "sent"
            elif record is not None and record[1] >= stale_before:
                states[event_id] = "busy"
            else:
                self.data.mail[event_id] = (False, now())
                states[event_id] = "taken"
        return states

    async def mark_sent(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            self.data.mail[event_id] = (True, now())

    async def release(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            if not self.data.mail.get(event_id, (True, now()))[0]:
                del self.data.mail[event_id]

    async def forget(self, sent_before: datetime) -> int:
        old = [key for key, (_, at) in self.data.mail.items() if at < sent_before]
        for key in old:
            del self.data.mail[key]
        return len(old)


class FakeInbox:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def first_time(self, consumer: str, event_id: str) -> bool:
        if (consumer, event_id) in self.data.inbox:
            return False
        self.data.inbox.add((consumer, event_id))
        return True


class FakeReservations:
    def __init__(self, data: FakeData) -> None:
        self.data = data

    async def add_many(self, new: Sequence[NewReservation]) -> None:
        ids = [reservation.id for reservation in new]
        if len(set(ids)) < len(ids) or any(i in self.data.reservations for i in ids):
            raise RetryableConflict("reservation id taken")
        at = now()
        for reservation in new:
            self.data.reservations[reservation.id] = Reservation(
                id=reservation.id,
                status=ReservationStatus.RESERVED,
                lines=reservation.lines,
                expires_at=reservation.expires_at,
                created_at=reservation.created_at or at,
                updated_at=reservation.created_at or at,
            )

    async def get_many(
        self, reservation_ids: Collection[str], *, lock: bool = False
    ) -> dict[str, Reservation]:
        stored = self.data.reservations
        return {i: stored[i] for i in sorted(set(reservation_ids)) if i in stored}

    async def transition(
        self, reservation_id: str, source: ReservationStatus, target: ReservationStatus
    ) -> bool:
        reservation = self.data.reservations.get(reservation_id)
        if reservation is None or reservation.status is not source:
            return False
        self.data.reservations[reservation_id] = replace(
            reservation, status=target, updated_at=now()
        )
        return True

    async def due(self, *, before: datetime, limit: int) -> list[str]:
        due = sorted(
            (r.expires_at, r.id)
            for r in self.data.reservations.values()
            if r.status is ReservationStatus.RESERVED and r.expires_at < before
        )
        return [reservation_id for _, reservation_id in due[:limit]]

    async def units(self) -> dict[int, tuple[int, int]]:
        found: dict[int, tuple[int, int]] = {}
        for reservation in self.data.reservations.values():
            if reservation.status is ReservationStatus.RELEASED:
                continue
            sold = reservation.status is ReservationStatus.SOLD
            for line in reservation.lines:
                reserved_units, sold_units = found.get(line.product_id, (0, 0))
                found[line.product_id] = (
                    reserved_units + (0 if sold else line.quantity),
                    sold_units + (line.quantity if sold else 0),
                )
        return found


@dataclass
class FakePending:
    member: str
    deliveries: int
    since: float  # on the broker's clock


class FakeBroker:
    """Streams of (message id, event) with consumer groups, pending messages and a clock the
    test moves (`advance`); `down` makes every call raise BrokerUnavailable."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, Event | None]]] = {}
        self.groups: dict[tuple[str, str], int] = {}  # → how far the group has read
        self.pending: dict[tuple[str, str], dict[str, FakePending]] = {}
        self.dead: dict[str, list[tuple[str, str, Event | None]]] = {}
        self.clock = 0.0
        self.down = False
        self._ids = itertools.count(1)

    def advance(self, seconds: float) -> None:
        self.clock += seconds

    def _check(self) -> None:
        if self.down:
            raise BrokerUnavailable("the fake broker is down")

    def append(self, stream: str, event: Event | None) -> str:
        message_id = f"{next(self._ids)}-0"
        self.streams.setdefault(stream, []).append((message_id, event))
        return message_id

    async def publish(self, stream: str, events: Sequence[Event]) -> None:
        self._check()
        for event in events:
            self.append(stream, event)

    async def receive(
        self,
        stream: str,
        group: str,
        member: str,
        *,
        count: int,
        block_seconds: float,
        visibility_seconds: float,
    ) -> list[Delivery]:
        self._check()
        key = (stream, group)
        self.groups.setdefault(key, 0)
        pending = self.pending.setdefault(key, {})
        messages = dict(self.streams.get(stream, []))
        taken = []
        for message_id, entry in pending.items():
            if len(taken) < count and self.clock - entry.since >= visibility_seconds:
                entry.member, entry.deliveries, entry.since = (
                    member,
                    entry.deliveries + 1,
                    self.clock,
                )
                taken.append(Delivery(message_id, messages[message_id], entry.deliveries))
        if taken:
            return taken
        fresh = self.streams.get(stream, [])[self.groups[key] :][:count]
        if not fresh:
            await asyncio.sleep(block_seconds)  # as a blocking read waits (and yields)
        self.groups[key] += len(fresh)
        for message_id, _ in fresh:
            pending[message_id] = FakePending(member, 1, self.clock)
        return [Delivery(message_id, event, 1) for message_id, event in fresh]

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> None:
        self._check()
        for message_id in message_ids:
            self.pending.get((stream, group), {}).pop(message_id, None)

    async def dead_letter(self, stream: str, group: str, delivery: Delivery, error: str) -> None:
        self._check()
        self.dead.setdefault(stream, []).append((group, error, delivery.event))
        await self.ack(stream, group, [delivery.message_id])

    async def read_dead_letters(
        self, stream: str, count: int
    ) -> list[tuple[str, str, Event | None]]:
        self._check()
        return self.dead.get(stream, [])[:count]

    async def aclose(self) -> None:
        pass


class FakeMailSender:
    """Keeps what it was given; `fail` makes the next sends raise MailUnavailable; counts the
    connections opened (one at the first send of a `connection` block)."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []
        self.fail = False
        self.rejected: set[str] = set()  # recipients the "server" refuses for good
        self.connections = 0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[FakeMailConnection]:
        yield FakeMailConnection(self)

    async def send(self, mail: Mail) -> None:
        if self.fail:
            raise MailUnavailable("the fake mail server is down")
        if mail.to in self.rejected:
            raise MailRejected(f"the fake mail server refused {mail.to}")
        self.sent.append(mail)


class FakeMailConnection:
    """One connection of a FakeMailSender, opened at its first send."""

    def __init__(self, sender: FakeMailSender) -> None:
        self.sender, self.opened = sender, False

    async def send(self, mail: Mail) -> None:
        if not self.opened:
            self.opened = True
            self.sender.connections += 1
        await self.sender.send(mail)


class FakeResetTokens:
    """Unsigned "user:version:expired" tokens: the service's rules, not the signature."""

    def issue(self, user: User) -> str:
        return f"{user.id}:{user.token_version}:ok"

    def read(self, token: str) -> tuple[int, int]:
        try:
            user_id, version, state = token.split(":")
            parsed = int(user_id), int(version)
        except ValueError as exc:
            raise ResetLinkInvalid("This password reset link is not valid") from exc
        if state == "expired":
            raise ResetLinkExpired("This password reset link has expired")
        return parsed


class FakeUnitOfWork:
    """Works on a copy of the committed data; commit publishes it, anything else discards it."""

    def __init__(self, store: FakeStore, write: bool) -> None:
        self.store = store
        self.write = write

    async def __aenter__(self) -> Self:
        self.working = copy.deepcopy(self.store.data)
        self.products = FakeProducts(self.working)
        self.categories = FakeCategories(self.working)
        self.users = FakeUsers(self.working)
        self.orders = FakeOrders(self.working)
        self.payments = FakePayments(self.working)
        self.addresses = FakeAddresses(self.working)
        self.idempotency = FakeIdempotency(self.working)
        self.outbox = FakeOutbox(self.working, self.store.tracer)
        self.refresh_tokens = FakeRefreshTokens(self.working)
        self.consents = FakeConsents(self.working)
        self.mail = FakeMailDeliveries(self.working)
        self.inbox = FakeInbox(self.working)
        self.reservations = FakeReservations(self.working)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.working = copy.deepcopy(self.store.data)

    async def commit(self) -> None:
        self.store.data = self.working
        self.store.commits += 1
        self.working = copy.deepcopy(self.working)


class FakeStore:
    """The unit-of-work factory over one FakeData."""

    def __init__(self, tracer: Tracer = NO_TRACER) -> None:
        self.data = FakeData()
        self.commits = 0
        self.tracer = tracer  # whose trace context the outbox stamps events with

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, write)


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}
        self.published: list[bytes] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise CacheUnavailable("down")

    async def get(self, key: str) -> bytes | None:
        self._check()
        return self.entries.get(key)

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._check()
        self.entries[key] = value

    async def delete(self, *keys: str) -> None:
        self._check()
        for key in keys:
            self.entries.pop(key, None)

    async def incr(self, key: str) -> int:
        self._check()
        value = int(self.entries.get(key, b"0")) + 1
        self.entries[key] = str(value).encode()
        return value

    async def ping(self) -> None:
        self._check()

    async def publish(self, channel: str, message: bytes) -> None:
        self._check()
        self.published.append(message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        raise CacheUnavailable("the fake cache has no subscriptions")

    async def delete_and_publish(self, keys: Sequence[str], channel: str, message: bytes) -> None:
        await self.delete(*keys)
        await self.publish(channel, message)


class FakeMetrics:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def cache_hit(self, kind: str) -> None:
        self.events.append(("hit", kind))

    def cache_miss(self, kind: str) -> None:
        self.events.append(("miss", kind))

    def cache_error(self) -> None:
        self.events.append(("cache_error", None))

    def order_placed(self, amount: Decimal) -> None:
        self.events.append(("order", amount))

    def stock_out(self) -> None:
        self.events.append(("stock_out", None))

    def order_group(self, size: int, outcome: str) -> None:
        self.events.append(("order_group", (size, outcome)))

    def payment(self, outcome: str) -> None:
        self.events.append(("payment", outcome))

    def access_board_unavailable(self) -> None:
        self.events.append(("access_board_unavailable", None))

    def request_started(self) -> None:
        self.events.append(("request_started", None))

    def request_finished(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.events.append(("request", (method, route, status)))

    def cache_hit_ratio(self) -> float | None:
        hits, misses = self.count("hit"), self.count("miss")
        return hits / (hits + misses) if hits + misses else None

    def exposition(self) -> tuple[bytes, str] | None:
        return None

    def count(self, name: str) -> int:
        return sum(1 for event, _ in self.events if event == name)


class RecordingTracer:
    """The Tracer port, recording each span (name, attributes, parent, links) and which spans
    are open; a request's span handle is whatever `request` holds in its context."""

    def __init__(self) -> None:
        self.request: ContextVar[str | None] = ContextVar("request", default=None)
        self.spans: list[tuple[str, dict[str, object], object, list[object]]] = []
        self.kinds: list[SpanKind] = []  # each span's, in the order of `spans`
        self.open: list[str] = []

    def current(self) -> object:
        return self.request.get()

    def traceparent(self) -> str | None:
        """The request's handle stands for its trace context too."""
        return self.request.get()

    def continued(self, traceparent: str | None) -> object:
        return traceparent

    @contextmanager
    def span(
        self,
        name: str,
        *,
        attributes: Mapping[str, object] | None = None,
        parent: object | None = None,
        links: Sequence[object] = (),
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Iterator[None]:
        self.spans.append((name, dict(attributes or {}), parent, list(links)))
        self.kinds.append(kind)
        self.open.append(name)
        try:
            yield
        finally:
            self.open.remove(name)


class FakeGateway:
    """The gateway's record is its own (it outlives a payments process: keep one instance
    across a simulated crash); one charge per intent key, as a real gateway's."""

    def __init__(self, *, approve: bool = True) -> None:
        self.approve = approve
        self.charges: list[Decimal] = []
        self.refunds: list[str] = []
        self.cards: list[Card] = []
        self.answers: dict[str, ChargeResult] = {}  # by intent key

    async def charge(
        self, *, amount: Decimal, currency: str, card: Card, intent_key: str
    ) -> ChargeResult:
        if intent_key in self.answers:
            return self.answers[intent_key]
        self.cards.append(card)
        if not self.approve:
            result = ChargeResult(approved=False, reference="", decline_reason="card_declined")
        else:
            self.charges.append(amount)
            result = ChargeResult(approved=True, reference=f"ref-{len(self.charges)}")
        self.answers[intent_key] = result
        return result

    async def find(self, intent_key: str) -> ChargeResult | None:
        return self.answers.get(intent_key)

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        self.refunds.append(reference)


class FakeHasher:
    async def hash(self, password: str) -> str:
        return f"hashed:{password}"

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return password_hash == f"hashed:{password}"


def customer(user_id: int = 1000) -> Principal:
    return Principal(user_id=user_id, role=Role.CUSTOMER)


def admin(user_id: int = 1) -> Principal:
    return Principal(user_id=user_id, role=Role.ADMIN)
