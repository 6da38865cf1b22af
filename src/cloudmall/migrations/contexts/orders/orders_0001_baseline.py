"""The orders service's database as it starts: orders, their lines and the orders' Idempotency-Keys,
with its outbox, the outbox readers' claims and its inbox (the monolith's schema at 0009, this
context's tables alone).

Revision ID: orders_0001
Revises:
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "orders_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("idem_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "user_id", "scope", "idem_key", name=op.f("uq_idempotency_keys_user_id_scope_idem_key")
        ),
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False
    )
    op.create_table(
        "inbox_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("handled_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_events")),
        sa.UniqueConstraint("consumer", "event_id", name=op.f("uq_inbox_events_consumer_event_id")),
    )
    op.create_index(
        op.f("ix_inbox_events_handled_at"), "inbox_events", ["handled_at"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column(
            "delivery_fee", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column("ship_recipient", sa.String(length=50), nullable=True),
        sa.Column("ship_phone", sa.String(length=20), nullable=True),
        sa.Column("ship_postal_code", sa.String(length=5), nullable=True),
        sa.Column("ship_address1", sa.String(length=200), nullable=True),
        sa.Column("ship_address2", sa.String(length=200), nullable=True),
        sa.Column("carrier", sa.String(length=16), nullable=True),
        sa.Column("tracking_number", sa.String(length=32), nullable=True),
        sa.Column("reservation_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')",
            name=op.f("ck_orders_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index("ix_orders_created", "orders", ["created_at"], unique=False)
    op.create_index("ix_orders_reservation_id", "orders", ["reservation_id"], unique=True)
    op.create_index("ix_orders_status_created", "orders", ["status", "created_at"], unique=False)
    op.create_index("ix_orders_user_created", "orders", ["user_id", "created_at"], unique=False)
    op.create_table(
        "outbox_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("aggregate_type", sa.String(length=32), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_table(
        "order_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    op.create_index(op.f("ix_order_lines_order_id"), "order_lines", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_lines_product_id"), "order_lines", ["product_id"], unique=False)
    op.create_table(
        "outbox_claims",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", ID, nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("finished", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_events.id"],
            name=op.f("fk_outbox_claims_outbox_id_outbox_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_claims")),
        sa.UniqueConstraint(
            "consumer", "outbox_id", name=op.f("uq_outbox_claims_consumer_outbox_id")
        ),
    )
    op.create_index(
        "ix_outbox_claims_consumer_batch", "outbox_claims", ["consumer", "batch"], unique=False
    )
    op.create_index(
        op.f("ix_outbox_claims_outbox_id"), "outbox_claims", ["outbox_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("outbox_claims")
    op.drop_table("order_lines")
    op.drop_table("outbox_events")
    op.drop_table("orders")
    op.drop_table("inbox_events")
    op.drop_table("idempotency_keys")  # their indexes with them
