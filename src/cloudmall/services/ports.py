"""The abstract ports the services need; adapters implement them, bootstrap wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import Literal, Protocol, Self

from cloudmall.domain.cards import Card
from cloudmall.domain.consents import Consent
from cloudmall.domain.delivery import Address, SavedAddress, Shipment
from cloudmall.domain.errors import CloudmallError
from cloudmall.domain.events import Event
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.payments import ChargeResult, Payment, PaymentStatus
from cloudmall.domain.products import Category, Product
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine
from cloudmall.domain.sessions import NewRefreshToken, RefreshToken
from cloudmall.domain.users import Role, User


class RetryableConflict(Exception):
    """The database refused a transaction that may succeed if run again (deadlock, race)."""


class CacheUnavailable(Exception):
    """The cache could not be reached; callers fall back to the database."""


class StorageUnavailable(Exception):
    """The object store could not be reached or refused the request."""


class DatabaseUnavailable(Exception):
    """The database could not be reached."""


# --- database -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductQuery:
    search: str | None = None
    category: str | None = None
    sort: str = "id"  # id | price | -price | name | newest
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NewProduct:
    name: str
    price: Decimal
    description: str
    category: str
    stock_quantity: int
    name_en: str | None = None
    description_en: str | None = None
    list_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """A product's fields to change; None leaves a field as it is.

    An empty `name_en`/`description_en` removes the English text; a `list_price` of
    NO_LIST_PRICE (0) ends a sale.
    """

    name: str | None = None
    price: Decimal | None = None
    description: str | None = None
    category: str | None = None
    stock_quantity: int | None = None
    image_key: str | None = None
    name_en: str | None = None
    description_en: str | None = None
    list_price: Decimal | None = None

    def given(self) -> dict[str, object]:
        """The fields to change, by name."""
        return {
            name: value
            for name in self.__dataclass_fields__
            if (value := getattr(self, name)) is not None
        }


@dataclass(frozen=True, slots=True)
class NewOrder:
    user_id: int
    lines: tuple[OrderLine, ...]
    total: Decimal  # charged: subtotal + delivery_fee
    subtotal: Decimal | None = None  # the goods (None: the whole total)
    delivery_fee: Decimal = Decimal("0.00")
    address: Address | None = None
    reservation_id: str | None = None  # the products context's reservation of its units


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    fingerprint: str
    response: str  # empty while the first request is still at work (a claim)
    created_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return not self.response


@dataclass(frozen=True, slots=True)
class NewIdempotencyRecord:
    """A first answer to keep: `response` is what a retry with `key` gets back."""

    user_id: int
    scope: str
    key: str
    fingerprint: str
    response: str


NO_LIST_PRICE = Decimal(0)


class CategoryRepository(Protocol):
    async def list(self) -> list[Category]:
        """Every category, by slug, each with how many products on sale it holds."""
        ...

    async def get(self, category_id: int) -> Category | None: ...
    async def by_slug(self, slug: str) -> Category | None: ...
    async def add(self, slug: str, name: str, name_en: str) -> Category: ...
    async def rename(self, category_id: int, name: str, name_en: str) -> Category | None: ...
    async def delete(self, category_id: int) -> bool: ...


class ProductRepository(Protocol):
    async def get(self, product_id: int) -> Product | None: ...
    async def get_many(
        self, product_ids: Collection[int], *, lock: bool = False
    ) -> dict[int, Product]:
        """Products by id; `lock=True` locks their rows (in id order) until the transaction ends."""
        ...

    async def search(self, query: ProductQuery) -> list[Product]: ...
    async def count(self, query: ProductQuery) -> int: ...
    async def low_stock(self, threshold: int) -> list[Product]: ...
    async def add(self, new: NewProduct) -> Product: ...
    async def update(self, product_id: int, changes: ProductChanges) -> Product | None:
        """Set the fields `changes` gives (the others stay); None if there is no such product."""
        ...

    async def delete(self, product_id: int) -> bool: ...
    async def take_locked_stock(self, taken: Mapping[int, int]) -> None:
        """Take units from rows this transaction locked with `get_many(lock=True)`.

        Raises RetryableConflict if a count would fall below zero (the database refuses it).
        """
        ...

    async def return_stock(self, product_id: int, quantity: int) -> None: ...
    async def image_keys(self) -> set[str]: ...


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...
    async def get_many(self, user_ids: Collection[int]) -> dict[int, User]:
        """The accounts that exist among `user_ids`, by id."""
        ...

    async def get_by_email(self, email: str) -> User | None: ...
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
        """Insert a user; raises EmailTaken if the (normalised) email exists."""
        ...

    async def update(self, user_id: int, changes: Mapping[str, object]) -> None: ...
    async def change_credentials(
        self,
        user_id: int,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        must_change_password: bool = False,
        if_token_version: int | None = None,
    ) -> bool:
        """Set the role and/or the password hash in one statement; a new password also raises
        the token version by one (tokens issued before stop working) and sets whether it must be
        changed at the next log-in (`must_change_password`). With `if_token_version`, only if
        the token version is still that. False if no such user (or the version moved on)."""
        ...

    async def count(self) -> int: ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by their hash; `rotate`, `revoke_family` and `revoke_user` stamp rows."""

    async def add(self, new: NewRefreshToken) -> RefreshToken: ...
    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        """The token with this hash, its row locked until the transaction ends (two refreshes
        with one token: the second waits, then sees it rotated)."""
        ...

    async def rotate(self, token_id: int, at: datetime) -> bool:
        """Mark a token used, only if it is neither used nor revoked; True if it was marked."""
        ...

    async def revoke_family(self, family: str, at: datetime) -> int:
        """Revoke every token of the family not revoked yet; how many."""
        ...

    async def revoke_user(self, user_id: int, at: datetime) -> int:
        """Revoke every token of the account not revoked yet (all its sessions); how many."""
        ...

    async def delete_expired(self, user_id: int, now: datetime) -> int:
        """Delete the account's tokens whose session ended before `now`; how many."""
        ...


class ConsentRepository(Protocol):
    async def add(self, user_id: int, consents: Sequence[Consent]) -> None: ...
    async def for_user(self, user_id: int) -> list[Consent]:
        """The account's consents, oldest first."""
        ...


class OrderRepository(Protocol):
    async def add_many(self, new: Sequence[NewOrder]) -> list[Order]:
        """Insert pending orders and their lines; the orders come back in the same order. A
        reservation held by an order already fails the caller's transaction (RetryableConflict):
        a concurrent retry of the order won, and the next attempt finds its answer."""
        ...

    async def get(self, order_id: int) -> Order | None: ...
    async def by_reservation(self, reservation_id: str) -> Order | None:
        """The order holding this stock reservation (at most one: its id is unique)."""
        ...

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> list[Order]: ...
    async def list_all(
        self, *, status: OrderStatus | None, limit: int, offset: int
    ) -> list[Order]: ...
    async def transition(self, order_id: int, source: OrderStatus, target: OrderStatus) -> bool:
        """Move an order from `source` to `target` only if it is still `source`; True if moved."""
        ...

    async def placed_since(self, since: datetime) -> tuple[int, Decimal]:
        """How many orders were placed since `since` (not cancelled) and their total."""
        ...

    async def count_with_status(self, status: OrderStatus) -> int: ...
    async def set_address(self, order_id: int, address: Address) -> None:
        """Store a copy of the address on the order."""
        ...

    async def set_shipment(self, order_id: int, shipment: Shipment) -> None: ...


class AddressRepository(Protocol):
    """Customers' address books; every call is scoped to one user's own addresses."""

    async def list_for_user(self, user_id: int) -> list[SavedAddress]:
        """The user's addresses, the default one first, then newest first."""
        ...

    async def get(self, user_id: int, address_id: int) -> SavedAddress | None: ...
    async def add(self, user_id: int, address: Address, *, make_default: bool) -> SavedAddress:
        """Add an address; `make_default` makes it the only default one."""
        ...

    async def delete(self, user_id: int, address_id: int) -> bool:
        """Delete one of the user's addresses; False if there is no such one."""
        ...

    async def set_default(self, user_id: int, address_id: int) -> bool:
        """Make the address the user's only default one; False if there is no such one."""
        ...


class PaymentRepository(Protocol):
    """The payments context's payments, each written as an intent (`pending`) before its
    charge and moved along its lifecycle (domain.payments) by conditional updates."""

    async def add(
        self, *, order_id: int, amount: Decimal, intent_key: str, card_last4: str
    ) -> Payment:
        """Insert a `pending` payment under `intent_key` (unique: a key taken fails the
        caller's transaction)."""
        ...

    async def for_order(self, order_id: int) -> list[Payment]:
        """The order's payments in every status, oldest first."""
        ...

    async def transition(
        self,
        payment: Payment,
        target: PaymentStatus,
        *,
        provider_reference: str | None = None,
    ) -> bool:
        """Move the payment from the status it was read in (`payment.status`) to `target`,
        setting its reference when given, only if it is still in that status; True if moved.
        `payment` is one this unit of work read or added."""
        ...

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        """Payments still `pending` or `charged` not changed since `updated_before`, oldest
        change first (the reconciler's)."""
        ...


@dataclass(frozen=True, slots=True)
class NewReservation:
    id: str
    lines: tuple[ReservedLine, ...]  # in product-id order
    expires_at: datetime
    created_at: datetime | None = None  # the caller's now (its answer names it); None: the clock's


class ReservationRepository(Protocol):
    """The products context's stock reservations, each with its lines (units per product)."""

    async def add_many(self, new: Sequence[NewReservation]) -> None:
        """Insert reservations as `reserved`. An id taken already fails the caller's transaction
        (RetryableConflict): a concurrent reserve with that id won, and a retry finds it."""
        ...

    async def get_many(
        self, reservation_ids: Collection[str], *, lock: bool = False
    ) -> dict[str, Reservation]:
        """The reservations with these ids (an unknown id is absent); `lock` holds their rows
        until the transaction ends."""
        ...

    async def transition(
        self, reservation_id: str, source: ReservationStatus, target: ReservationStatus
    ) -> bool:
        """Move one from `source` to `target` only if it is still `source`; True if moved."""
        ...

    async def due(self, *, before: datetime, limit: int) -> list[str]:
        """Ids of reservations still `reserved` that expire before `before`, soonest first."""
        ...

    async def units(self) -> dict[int, tuple[int, int]]:
        """Per product with any, its (reserved, sold) units: the stock invariant's other terms."""
        ...


class IdempotencyRepository(Protocol):
    async def get(self, *, user_id: int, scope: str, key: str) -> IdempotencyRecord | None: ...
    async def get_many(
        self, *, scope: str, keys: Collection[tuple[int, str]]
    ) -> dict[tuple[int, str], IdempotencyRecord]:
        """The records of the (user id, key) pairs that have one."""
        ...

    async def claim(self, *, user_id: int, scope: str, key: str, fingerprint: str) -> bool:
        """Record the key as in progress (in a transaction of its own); False if it has a record.

        The claimant later completes it with its answer, or releases it.
        """
        ...

    async def take_over(
        self, *, user_id: int, scope: str, key: str, claimed_before: datetime
    ) -> bool:
        """Claim anew a key still in progress since before `claimed_before`; True if taken."""
        ...

    async def complete(self, *, user_id: int, scope: str, key: str, response: str) -> None:
        """Store the answer of a key in progress; RetryableConflict if it is not (any more)."""
        ...

    async def release(self, *, user_id: int, scope: str, key: str) -> None:
        """Forget a claim that has no answer (the request failed): the key can be used again."""
        ...

    async def save_many(self, records: Sequence[NewIdempotencyRecord]) -> None:
        """Store first answers together; RetryableConflict (and none stored) if one was taken."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event as the outbox keeps it: `position` orders the events in the outbox."""

    position: int
    event: Event


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """Events one consumer claimed together; `name` is the same whenever the batch is handed
    out again (a consumer names what it writes after it, so a rerun overwrites, never adds)."""

    consumer: str
    name: str
    entries: tuple[OutboxEntry, ...]


class Outbox(Protocol):
    """The transactional outbox: events written with the change they describe, read by any
    number of consumers (the lake, mail, a broker), each of which handles every event once.

    A consumer works in batches: `claim` hands it a batch, it handles the batch (idempotently:
    the same batch may come again), then `finish`es it. A consumer that dies mid-way gets the
    very same batch (same events, same name) from its next `claim`.
    """

    async def add(self, events: Sequence[Event]) -> None:
        """Record events in this transaction: they exist if and only if it commits."""
        ...

    async def claim(self, consumer: str, limit: int, *, gaps: bool) -> OutboxBatch | None:
        """The consumer's unfinished batch if it has one; else up to `limit` events it has not
        claimed yet, oldest first, as a new batch (kept once this transaction commits). None
        when there is nothing to do. RetryableConflict if another run claimed them meanwhile.

        With `gaps=False`, only events above the highest one the consumer claimed (of those
        still in the outbox): cheap whatever the number of claimed events still there, but
        blind to a gap (an event whose transaction took its position before a later event's
        and committed after that one was claimed). With `gaps=True`, any event it has not
        claimed (a gap sweep: it costs in proportion to the claimed events still in the
        outbox). Either way, never an event the consumer claimed before.
        """
        ...

    async def finish(self, consumer: str, batch: str) -> None:
        """Mark the consumer's batch handled: its events are never handed to it again."""
        ...

    async def purge(self, consumers: Collection[str], limit: int) -> int:
        """Delete up to `limit` events every one of `consumers` has finished; how many went."""
        ...

    async def backlog(self, consumer: str) -> int:
        """Events the consumer has not finished (claimed or not)."""
        ...


class Inbox(Protocol):
    """The events each consumer has handled, by event id: written in the transaction of the
    handler's own changes, so an event counts as handled if and only if those changes committed.
    A redelivered event (the broker is at-least-once) is then recognised and skipped."""

    async def first_time(self, consumer: str, event_id: str) -> bool:
        """Record that `consumer` handles the event in this transaction; False if a committed
        transaction recorded it already (the caller skips the event). Two transactions that
        record one event at once: the second waits for the first and, if it commits, gets
        False (or RetryableConflict where the database prefers that; running it again gives
        False)."""
        ...


#: A mail's state for the process that wants to send it.
MailState = Literal["taken", "sent", "busy"]


class MailDeliveries(Protocol):
    """The mail reader's record per event: which mails a process has taken to send, which are
    sent. It keeps two processes from sending one mail together, and a batch handed out again
    from sending what went out already."""

    async def take(
        self, event_ids: Sequence[str], *, stale_before: datetime
    ) -> dict[str, MailState]:
        """Take the events' mails to send (kept once this transaction commits). Each is "taken";
        "sent" if it was sent already; "busy" if another process took it at or after
        `stale_before` (still at work; one taken before that died mid-way and is taken over).
        RetryableConflict if another process took one meanwhile."""
        ...

    async def mark_sent(self, event_ids: Sequence[str]) -> None: ...
    async def release(self, event_ids: Sequence[str]) -> None:
        """Give back mails taken but not sent: the next attempt (any process's) takes them."""
        ...

    async def forget(self, sent_before: datetime) -> int:
        """Delete records older than `sent_before` (their events left the outbox long ago)."""
        ...


class UnitOfWork(Protocol):
    """One database transaction and the repositories that work inside it."""

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

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork:
        """A new unit of work; `write=True` takes the write lock up front where needed."""
        ...


class Metrics(Protocol):
    """What the shop reports: Prometheus series on a server, CloudWatch metrics in a function."""

    def request_started(self) -> None: ...
    def request_finished(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered, by route template (never the raw path)."""
        ...

    def cache_hit_ratio(self) -> float | None:
        """This process's catalogue cache hit ratio so far, or None before any lookup."""
        ...

    def exposition(self) -> tuple[bytes, str] | None:
        """The series as a scrape target answers them (body, content type), or None when the
        metrics leave the process another way (a function's CloudWatch lines)."""
        ...

    def cache_hit(self, kind: str) -> None: ...
    def cache_miss(self, kind: str) -> None: ...
    def cache_error(self) -> None: ...
    def order_placed(self, amount: Decimal) -> None: ...
    def stock_out(self) -> None: ...
    def order_group(self, size: int, outcome: str) -> None:
        """A transaction of `size` orders: committed | placed_alone | unavailable."""
        ...

    def payment(self, outcome: str) -> None: ...
    def access_board_unavailable(self) -> None:
        """A request's access was checked against its token alone: the board did not answer."""
        ...


# --- events broker ----------------------------------------------------------------------------


class BrokerUnavailable(Exception):
    """The broker could not be reached or refused the call: try again later."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a consumer group's member: `message_id` is the broker's (to
    acknowledge it), `event` the envelope it carries (None if the message is not one: it can
    only be parked), `deliveries` how many times the group has handed it out, this one included."""

    message_id: str
    event: Event | None
    deliveries: int


class Broker(Protocol):
    """A log of event envelopes per stream, read by consumer groups (Redis Streams).

    Publishing is at-least-once: an outbox reader that dies after `publish` and before it
    recorded that publishes the same events again. The copies are different messages with the
    same event — the envelope's `id` is what names an event, so consumers dedupe by it (the
    Inbox), never by the broker's message id.

    Each group sees every message of the stream once in its own right; within a group each
    message goes to one member, which acknowledges it when done. A message a member received but
    did not acknowledge stays pending: once it has been pending for `visibility_seconds`, any
    member's `receive` takes it over (its member died, or its handling failed) and it counts one
    more delivery. A stream keeps its newest messages only (about `max_len` of them): a group
    that falls further behind than that loses the oldest.
    """

    async def publish(self, stream: str, events: Sequence[Event]) -> None:
        """Append the events, in this order; returns once the broker has them all. Raises
        BrokerUnavailable (some may have been appended: publish them again)."""
        ...

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
        """Up to `count` messages for `member` of `group` (made, from the stream's start, if it
        does not exist): first messages pending longer than `visibility_seconds`, taken over,
        then new ones, waiting up to `block_seconds` for some if there are none."""
        ...

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> None:
        """The group is done with these messages: they are never handed out again."""
        ...

    async def dead_letter(self, stream: str, group: str, delivery: Delivery, error: str) -> None:
        """Park a message the group cannot handle in the stream's dead letters
        (dead_letter_stream) with `error`, and acknowledge it, together."""
        ...

    async def read_dead_letters(
        self, stream: str, count: int
    ) -> list[tuple[str, str, Event | None]]:
        """The oldest parked messages: (group, error, event) each."""
        ...

    async def aclose(self) -> None: ...


def dead_letter_stream(stream: str) -> str:
    """Where a stream's parked messages go."""
    return f"{stream}:dead"


#: The values a span attribute takes.
SpanValue = str | int | float | bool


class SpanKind(StrEnum):
    """A span's kind, of OpenTelemetry's that the shop draws itself: its own work (INTERNAL), or
    a reader's handling of one message, an event (CONSUMER, as the messaging conventions ask)."""

    INTERNAL = "internal"
    CONSUMER = "consumer"


class Tracer(Protocol):
    """Spans around the shop's own work where no instrumented library draws one (a group of
    orders in one transaction, a payment gateway's answer). OpenTelemetry's when tracing is on;
    `NO_TRACER` (nothing at all) when it is off."""

    def current(self) -> object:
        """A handle on the span the caller is in, for a later span to link to."""
        ...

    def traceparent(self) -> str | None:
        """The span the caller is in as a W3C `traceparent` (what an event carries); None with
        no span."""
        ...

    def continued(self, traceparent: str | None) -> object:
        """A handle (for `span`'s parent or links) on the span a W3C `traceparent` names; one
        that is no span for None or a malformed value."""
        ...

    def span(
        self,
        name: str,
        *,
        attributes: Mapping[str, SpanValue] | None = None,
        parent: object | None = None,
        links: Sequence[object] = (),
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> AbstractContextManager[None]:
        """A span of `kind` around the `with` block, child of `parent` (a handle from `current`;
        by default the current span) and linked to `links` (handles too): work done for several
        requests belongs to one and links the others. An exception leaving the block marks the
        span failed."""
        ...


class _NoTracer:
    def current(self) -> object:
        return None

    def traceparent(self) -> str | None:
        return None

    def continued(self, traceparent: str | None) -> object:
        return None

    def span(
        self,
        name: str,
        *,
        attributes: Mapping[str, SpanValue] | None = None,
        parent: object | None = None,
        links: Sequence[object] = (),
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> AbstractContextManager[None]:
        return nullcontext()


#: The tracer when tracing is off: costs a call and nothing else.
NO_TRACER: Tracer = _NoTracer()


class CatalogPresenter(Protocol):
    """How catalogue answers are written (the web layer's JSON); the cache keeps them as bytes."""

    def products(self, products: Sequence[Product]) -> bytes: ...
    def product(self, product: Product) -> bytes: ...
    def categories(self, categories: Sequence[Category]) -> bytes: ...


class TierProbe(Protocol):
    """One tier's health, as its adapter sees it (for /readyz and `cloudmall check`)."""

    @property
    def name(self) -> str: ...
    @property
    def required(self) -> bool:
        """False for a tier whose failure degrades the instance but keeps it in service."""
        ...

    async def check(self) -> str:
        """A one-line description of the tier when usable; raises (one-line message) if not."""
        ...


# --- other tiers ------------------------------------------------------------------------------


class Cache(Protocol):
    """Bytes by key with a TTL; shared by all processes when it is a networked cache."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str) -> int: ...
    async def ping(self) -> None: ...
    async def publish(self, channel: str, message: bytes) -> None:
        """Tell every process subscribed to `channel` (at most once, no replay)."""
        ...

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        """Subscribe, then return the messages as they come; ends or raises when the link drops."""
        ...

    async def delete_and_publish(self, keys: Sequence[str], channel: str, message: bytes) -> None:
        """Delete `keys`, then publish `message`, in one round trip where the cache allows."""
        ...

    async def aclose(self) -> None:
        """Let go of the connections (the process is stopping)."""
        ...


class Counter(Protocol):
    """Counters that expire, shared by all processes when the store is networked (rate limits)."""

    async def increment(self, key: str, *, ttl_seconds: int, amount: int = 1) -> int:
        """Add `amount` (may be 0 or negative) to `key` and return the new value.

        A missing or expired key starts at 0 and expires `ttl_seconds` after it was created (later
        increments do not extend it). Raises CacheUnavailable if the store cannot be reached.
        """
        ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    content_type: str


STORAGE_CLASSES = ("STANDARD", "STANDARD_IA", "GLACIER")


class ObjectStore(Protocol):
    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        storage_class: str | None = None,
    ) -> None:
        """Store `data` at `key`; `storage_class` (one of STORAGE_CLASSES, default STANDARD)
        is honoured by stores that have classes (S3) and ignored by the local folder."""
        ...

    async def get(self, key: str) -> StoredObject | None: ...
    async def delete(self, key: str) -> None: ...
    async def keys(self, prefix: str) -> list[str]: ...
    async def ping(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Compaction:
    """What a compaction of one day did: partitions merged, the files they had, rows kept."""

    partitions: int
    parts: int
    rows: int


class EventLake(Protocol):
    """Where exported events go: Parquet files in the lake's object store, Hive-partitioned."""

    async def write(self, batch: str, events: Sequence[Event]) -> list[str]:
        """Write the events as files named after `batch` (one per table, type and day) and
        return their keys. Writing a batch again replaces its files with the same content."""
        ...

    async def compact(self, day: date) -> Compaction:
        """Merge each partition of `day` that has several files into one, each row once. The
        merged file is written before its parts are deleted: a run stopped in between leaves
        rows twice (the report counts each event once) and the next run merges them again."""
        ...


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


class LakeQueries(Protocol):
    """SQL over the lake's files (tables `events` and `order_lines`)."""

    async def query(self, sql: str, parameters: Sequence[object] = ()) -> QueryResult:
        """Run one statement; raises LakeQueryError for SQL the engine refuses."""
        ...

    async def query_many(
        self, statements: Sequence[str], parameters: Sequence[object] = ()
    ) -> list[QueryResult]:
        """Run statements (each with the same parameters) over one view of the files: they
        all see the same files, and the engine reads the files' metadata once."""
        ...


class LakeQueryError(Exception):
    """The query engine refused a statement (its message says why)."""


class PaymentGateway(Protocol):
    """A card gateway: another company's service, which outlives our processes.

    Every charge is made under an intent key the shop chose and wrote down first, and the
    gateway keeps it: a charge asked again under the same key is not made twice (it answers
    as it did the first time), and `find` tells what happened under a key — so a charge cut off
    by a crash is found again. Real gateways offer both: Stripe's idempotency keys and its
    PaymentIntent search by metadata, Toss Payments' orderId (a payment confirmed once per
    orderId) and its lookup by orderId.
    """

    async def charge(
        self, *, amount: Decimal, currency: str, card: Card, intent_key: str
    ) -> ChargeResult:
        """Charge the card, or decline it with a reason (a card it refuses on sight included);
        idempotent per `intent_key`."""
        ...

    async def find(self, intent_key: str) -> ChargeResult | None:
        """What the gateway answered a charge under `intent_key`; None if it made none."""
        ...

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        """Give a charge back. Idempotent: refunding a reference again refunds nothing more."""
        ...


# --- mail -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mail:
    """One plain-text mail to one recipient."""

    to: str
    subject: str
    text: str
    message_id: str  # stable per mail (the event's id): a receiver can spot a duplicate


class MailUnavailable(Exception):
    """The mail could not be handed over now (server down, refused, timed out): try again later."""


class MailRejected(Exception):
    """The mail server refused this mail for good (no such recipient): sending it again will not
    help."""


class MailSender(Protocol):
    """Outgoing mail. `send` returns once the mail is handed over for delivery (an SMTP server
    accepted it; the local folder has its .eml file) and raises MailUnavailable if it was not, in
    which case nothing was delivered as far as the sender knows and the caller retries later,
    or MailRejected if the server refused this very mail for good (the caller gives it up).
    A sender logs at most the recipient and the subject: never the body (it may hold a link that
    works as a password). `connection` sends a batch through one hand-over (one SMTP session
    instead of a log-in per mail)."""

    async def send(self, mail: Mail) -> None: ...

    def connection(self) -> AbstractAsyncContextManager[MailConnection]:
        """A connection for a batch of mails, opened at its first `send` (an empty batch opens
        nothing) and closed when the block ends; the close raises nothing (what was accepted
        stays accepted)."""
        ...


class MailConnection(Protocol):
    """Mails handed over one after the other through one connection: `send` as
    MailSender.send. After MailRejected the connection goes on; after MailUnavailable it is
    spent, and the caller stops sending through it."""

    async def send(self, mail: Mail) -> None: ...


class PasswordResetTokens(Protocol):
    """Signed, expiring password-reset tokens bound to the account's token version: once the
    password changes (by the reset or otherwise) every token issued before is dead."""

    def issue(self, user: User) -> str: ...
    def read(self, token: str) -> tuple[int, int]:
        """The (user id, token version) a token was issued for. Raises ResetLinkExpired for an
        expired token and ResetLinkInvalid for a forged or garbled one."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if the password matches; with no hash, spends the same time and says False."""
        ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token says the caller is (and, once checked, what the database says)."""

    user_id: int
    role: Role
    token_version: int = 0  # the user's token version when the token was issued
    #: The account still had its initial password when the token was issued (a one-time
    #: password from `cloudmall admin create`): only the password change is allowed.
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    id: str  # the caller's: the same id on a retry names the same reservation
    quantities: Mapping[int, int]  # product id → units (one entry per product)


class StockDesk(Protocol):
    """The products context's stock as the orders context uses it: in the same process (the
    monolith) or over HTTP (the services topology). Every call is idempotent by reservation id
    (or only reads), so a caller that lost an answer asks again and changes nothing twice."""

    async def reserve(
        self, requests: Sequence[ReservationRequest]
    ) -> list[Reservation | CloudmallError]:
        """Take each request's units from stock under its id, in turn, in one transaction of the
        products context. Per request, in order: its reservation (names and prices as of now,
        expiring after the shop's reservation time) or why it was refused (OutOfStock; NotFound
        for a product missing or off sale) — a refused one takes nothing. An id reserved before
        answers that reservation as it is now, taking nothing again; the same id with other
        quantities answers IdempotencyKeyReused. Raises DependencyUnavailable when the products
        context cannot answer (then the caller releases the ids, or lets them expire)."""
        ...

    async def confirm(self, reservation_id: str) -> Reservation:
        """`reserved` → `sold` (its order was paid); sold already: the same answer. Released
        (expired or cancelled): ReservationExpired. Unknown: NotFound."""
        ...

    async def release(self, reservation_id: str, *, reason: str) -> Reservation | None:
        """`reserved` or `sold` → `released`: its units back to stock, once (`reason`: cancel,
        refund, expired). Released already: as it is. Unknown: None (nothing was taken)."""
        ...

    async def low_stock(self, threshold: int) -> list[Product]:
        """Products on sale with at most `threshold` units left, fewest first (then by id), 50
        at most, as the products context holds them now, every field as its own reads give it
        (the staff's overview lists them). Raises DependencyUnavailable when the products
        context cannot answer."""
        ...


class AddressBook(Protocol):
    """The users context's saved addresses as the orders context copies one into an order: in
    the same process (the monolith) or over HTTP (the services topology)."""

    async def saved(self, user_id: int, address_id: int) -> Address | None:
        """The user's saved address with this id; None if they have none by it. Raises
        DependencyUnavailable when the users context cannot answer."""
        ...


class PriceList(Protocol):
    """The products context's prices as the orders context quotes them: in the same process
    (the monolith) or over HTTP (the services topology)."""

    async def prices(self, product_ids: Collection[int]) -> Mapping[int, Decimal]:
        """Each product's price now; a product that does not exist is left out. Raises
        DependencyUnavailable when the products context cannot answer."""
        ...


class OrderBook(Protocol):
    """The orders context as the payments context uses it (in process or over HTTP)."""

    async def payable(self, principal: Principal, order_id: int) -> Order:
        """The caller's order if it may be paid now: NotFound unless the caller may see it,
        InvalidTransition unless pending, AddressRequired until it has its address."""
        ...

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        """`pending` → `paid`, its reservation sold first (ReservationExpired if it was
        released: the caller refunds). Paid already by this payment: the same answer.
        Cancelled meanwhile, or paid by another payment: InvalidTransition (the caller
        refunds)."""
        ...

    async def visible(self, principal: Principal, order_id: int) -> Order:
        """The order if the caller may see it (its owner, or staff); NotFound otherwise, as
        for a missing one (the payments context shows an order's payments to them alone)."""
        ...


class PaymentDesk(Protocol):
    """The payments context as the orders context uses it (in process or over HTTP)."""

    async def refund_order(self, order_id: int, *, reason: str, user_id: int | None) -> bool:
        """Refund the order's standing charges (its payments `charged` or `captured`) at the
        gateway and record them, once each; False if it has none (never paid, or refunded
        already). `user_id`, the order's buyer, goes into `payment.refunded` for the refund's
        mail."""
        ...


class TokenIssuer(Protocol):
    """Mints access tokens: only a process holding the signing key has one."""

    def issue(self, user: User) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        ...


class TokenVerifier(Protocol):
    """Checks access tokens; it holds only what verifies (public keys), so it cannot mint."""

    def decode(self, token: str) -> Principal:
        """The principal in a valid token; raises AuthenticationFailed otherwise."""
        ...

    def key_set(self) -> Mapping[str, object]:
        """The public keys it accepts as a JWK Set (RFC 7517), for other verifiers; no keys
        when tokens are signed with a shared secret."""
        ...


class AccessBoardUnavailable(Exception):
    """The access board could not be reached or refused the call."""


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """What an account may do, as the users context last published it."""

    token_version: int  # tokens of an older version are dead
    role: Role | None  # None: the account is gone (every token of it is dead)
    must_change_password: bool = False

    @property
    def gone(self) -> bool:
        return self.role is None


class AccessBoard(Protocol):
    """Where the users context publishes each account's current access, for the services that
    hold no accounts (the services topology; services/access_board.py publishes, services/
    access.py reads). Shared by every process of every service.

    The contract:
    - An entry is written only by `publish`, and only if it is newer than the entry there:
      a higher token version, or the same version and a higher `stamp` (the change's time);
      a gone account's entry is never replaced. So publishing again, or late, or out of
      order, never takes an account's access back to an older state.
    - An entry lives `ttl_seconds` after its last publish (at least the longest lifetime of an
      access token), then disappears: a token from before the change has expired by then, so
      the board never grows without bound, and an account with no entry has had no change its
      living tokens do not already show. Never before: a store that evicts under memory
      pressure must not take an entry (a ban forgotten, silently).
    - Either call raises AccessBoardUnavailable when the store cannot answer (never waiting
      more than about a second)."""

    async def publish(
        self, user_id: int, access: AccountAccess, *, stamp: int, ttl_seconds: int
    ) -> bool:
        """Record `access` for the account if it is newer than the entry there; whether it
        was recorded."""
        ...

    async def look_up(self, user_id: int) -> AccountAccess | None:
        """The account's entry, or None when it has none."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """An upload that passed the content checks, ready to store."""

    digest: str  # SHA-256 of `original`
    extension: str  # png | jpg | webp
    content_type: str
    width: int
    height: int
    original: bytes  # re-encoded from the pixels: upright, no metadata
    thumbnail: bytes  # WebP, from the same pixels


class ImageProcessor(Protocol):
    async def process(self, data: bytes) -> ProcessedImage:
        """Check an upload by its content and make its thumbnail.

        Raises UnsupportedMedia for anything but PNG/JPEG/WebP, PayloadTooLarge over the caps.
        """
        ...


# --- backup and restore ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table as a backup sees it: its columns in order and its (single) primary key."""

    name: str
    columns: tuple[str, ...]
    primary_key: str


class DatabaseSnapshot(Protocol):
    """A consistent, read-only view of the whole database while the shop keeps writing."""

    revision: str | None  # the schema (Alembic) revision the snapshot was taken at

    async def count(self, table: TableSpec) -> int: ...
    def batches(self, table: TableSpec, size: int) -> AsyncIterator[list[tuple[object, ...]]]:
        """All rows of `table` in primary-key order, `size` at a time, as Python values
        (int, str, bool, Decimal, aware UTC datetime, None) in `table.columns` order."""
        ...

    async def media_keys(self) -> set[str]:
        """The object-store keys the rows point at (product images)."""
        ...


class TableLoader(Protocol):
    async def insert(self, table: TableSpec, rows: Sequence[Sequence[object]]) -> None:
        """Insert rows given in the portable encoding (Decimal and datetime as strings)."""
        ...


class BackupDatabase(Protocol):
    """What backup and restore need from a database: snapshots, schema revisions, bulk loads."""

    @property
    def backend(self) -> str:
        """sqlite | mysql | mariadb | postgresql"""
        ...

    def tables(self) -> tuple[TableSpec, ...]:
        """The shop's tables, parents before children (the order to insert them in)."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[DatabaseSnapshot]: ...
    def code_revision(self) -> str | None:
        """The newest schema revision this code knows (the migrations' head)."""
        ...

    def knows_revision(self, revision: str) -> bool:
        """False for a revision this code has never heard of (made by a newer version)."""
        ...

    async def current_revision(self) -> str | None: ...
    async def row_counts(self) -> dict[str, int]:
        """Rows in each of the shop's tables that exist (empty for a blank database)."""
        ...

    async def migrate(self, revision: str) -> None:
        """Bring the schema to `revision` (a blank database gets the whole schema)."""
        ...

    def loader(self, *, replace: bool) -> AbstractAsyncContextManager[TableLoader]:
        """One transaction for a whole restore; `replace` first deletes the shop's rows.

        Committed when the block ends normally, rolled back when it raises."""
        ...

    async def reset_identities(self) -> None:
        """Move id sequences / auto-increment counters past the highest restored id."""
        ...
