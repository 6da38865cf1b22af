"""The schema, in SQLAlchemy Core: the guide's tables, extended for a real shop."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC (portable to MySQL DATETIME), read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[datetime]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        # (Nearly every value is UTC already, from utcnow: no conversion to make for those.)
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


Money = Numeric(12, 2, asdecimal=True)
Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid alias needs INTEGER

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(255), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", String(255), nullable=False),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False, server_default="customer"),
    # Raised on every password change: tokens carrying an older version are refused.
    Column("token_version", Integer, nullable=False, server_default="0"),
    Column("phone", String(32), nullable=False, server_default=""),
    Column("language", String(8), nullable=False, server_default="ko"),  # its mails' language
    # An initial password the shop printed: every call but the password change answers 403.
    Column("must_change_password", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("role IN ('customer', 'admin')", name="role"),
)

# Refresh tokens by their SHA-256 (never the token itself); a family is one log-in's chain.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("family", String(32), nullable=False, index=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    Column("rotated_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
)

# What each account agreed to at sign-up (privacy policy, terms of use), at which version, when.
consents = Table(
    "consents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("document", String(16), nullable=False),
    Column("version", String(32), nullable=False),
    Column("agreed_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "document", "version"),
)

# The categories staff manage; a product names one by its slug (checked by the catalogue service).
categories = Table(
    "categories",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),  # Korean
    Column("name_en", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("price", Money, nullable=False),
    Column("description", Text, nullable=False),
    Column("image_key", String(200)),
    Column("stock_quantity", Integer, nullable=False, server_default="0"),
    Column("category", String(64), nullable=False, server_default="general"),
    Column("name_en", String(255)),
    Column("description_en", Text),
    Column("list_price", Money),  # the price before a sale; NULL when not on sale
    Column("is_active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
    CheckConstraint("price > 0", name="price_positive"),
    Index("ix_products_active_category", "is_active", "category"),
    Index("ix_products_active_price", "is_active", "price"),
    Index("ix_products_active_created", "is_active", "created_at"),
    Index("ix_products_active_stock", "is_active", "stock_quantity"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # The users context's id: no foreign key crosses a context (docs/microservices.md).
    Column("user_id", Id, nullable=False),
    Column("total_amount", Money, nullable=False),  # charged: goods and delivery fee
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("subtotal", Money),  # the goods; null on orders from before delivery fees
    Column("delivery_fee", Money, nullable=False, server_default="0"),
    # A copy of where the order goes (not a reference: the address book may change); null
    # while the address is pending.
    Column("ship_recipient", String(50)),
    Column("ship_phone", String(20)),
    Column("ship_postal_code", String(5)),
    Column("ship_address1", String(200)),
    Column("ship_address2", String(200)),
    Column("carrier", String(16)),
    Column("tracking_number", String(32)),
    # The products context's stock reservation holding its units (null: placed before them).
    Column("reservation_id", String(64)),
    CheckConstraint(
        "status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')", name="status"
    ),
    Index("ix_orders_user_created", "user_id", "created_at"),
    Index("ix_orders_status_created", "status", "created_at"),
    Index("ix_orders_created", "created_at"),
    Index("ix_orders_reservation_id", "reservation_id", unique=True),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("product_id", Id, nullable=False, index=True),  # the products context's
    Column("product_name", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, nullable=False, index=True),  # the orders context's
    Column("amount", Money, nullable=False),
    Column("status", String(16), nullable=False),
    # The key the gateway knows this charge by, written before the charge: a charge cut off is
    # found again by it (the reconciler), and the gateway charges one key once.
    Column("intent_key", String(64), nullable=False, unique=True),
    Column("provider_reference", String(64)),  # the gateway's, once it has answered
    Column("card_last4", String(4), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_payments_status_updated_at", "status", "updated_at"),
)

# The products context's stock reservations: the units an order holds, by an id the orders
# context chose (docs/microservices.md); `expires_at` matters while reserved.
stock_reservations = Table(
    "stock_reservations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("status IN ('reserved', 'sold', 'released')", name="status"),
    Index("ix_stock_reservations_status_expires", "status", "expires_at"),  # the sweeper's
)

stock_reservation_lines = Table(
    "stock_reservation_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),  # backups page by a one-column key
    Column(
        "reservation_id",
        String(64),
        ForeignKey("stock_reservations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The same context's table: a key may point there.
    Column("product_id", Id, ForeignKey("products.id"), nullable=False, index=True),
    Column("product_name", String(255), nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    UniqueConstraint("reservation_id", "product_id"),
)

# Customers' address books (배송지): the order copies the one it is sent to.
addresses = Table(
    "addresses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("recipient", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("postal_code", String(5), nullable=False),
    Column("address1", String(200), nullable=False),
    Column("address2", String(200), nullable=False, server_default=""),
    Column("is_default", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, nullable=False),  # the users context's (indexed by the unique key)
    Column("scope", String(64), nullable=False),
    Column("idem_key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
    UniqueConstraint("user_id", "scope", "idem_key"),
)

# The transactional outbox: each change's events, written in the change's own transaction.
outbox_events = Table(
    "outbox_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),  # the outbox's order
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("request_id", String(128)),
    Column("traceparent", String(64)),  # W3C trace context of the work that wrote the event
)

# Which consumer claimed which event, in which batch, and whether it finished that batch.
outbox_claims = Table(
    "outbox_claims",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("consumer", String(32), nullable=False),
    Column(
        "outbox_id",
        Id,
        ForeignKey("outbox_events.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("batch", String(64), nullable=False),
    Column("finished", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("consumer", "outbox_id"),
    Index("ix_outbox_claims_consumer_batch", "consumer", "batch"),
)

# The mail reader's record of each event's mail: taken (a process is sending it) or sent. It keeps
# two processes from sending one event's mail together and a re-handed batch from sending again.
mail_deliveries = Table(
    "mail_deliveries",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("sent", Boolean, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime(), nullable=False, index=True),
)

# The inbox: which events each consumer of the broker has handled, written in the transaction of
# the handler's changes, so a redelivered event is recognised and skipped.
inbox_events = Table(
    "inbox_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("handled_at", UTCDateTime(), nullable=False, index=True),
    UniqueConstraint("consumer", "event_id"),
)
