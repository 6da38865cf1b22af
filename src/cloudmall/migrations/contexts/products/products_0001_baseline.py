"""The products service's database as it starts: the catalogue, its categories, stock and stock
reservations, with its outbox, the outbox readers' claims and its inbox (the monolith's schema at
0009, this context's tables alone).

Revision ID: products_0001
Revises:
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "products_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_categories_slug")),
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
        "products",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_key", sa.String(length=200), nullable=True),
        sa.Column("stock_quantity", sa.Integer(), server_default="0", nullable=False),
        sa.Column("category", sa.String(length=64), server_default="general", nullable=False),
        sa.Column("name_en", sa.String(length=255), nullable=True),
        sa.Column("description_en", sa.Text(), nullable=True),
        sa.Column("list_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("price > 0", name=op.f("ck_products_price_positive")),
        sa.CheckConstraint("stock_quantity >= 0", name=op.f("ck_products_stock_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(
        "ix_products_active_category", "products", ["is_active", "category"], unique=False
    )
    op.create_index(
        "ix_products_active_created", "products", ["is_active", "created_at"], unique=False
    )
    op.create_index("ix_products_active_price", "products", ["is_active", "price"], unique=False)
    op.create_index(
        "ix_products_active_stock", "products", ["is_active", "stock_quantity"], unique=False
    )
    op.create_table(
        "stock_reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('reserved', 'sold', 'released')", name=op.f("ck_stock_reservations_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservations")),
    )
    op.create_index(
        "ix_stock_reservations_status_expires",
        "stock_reservations",
        ["status", "expires_at"],
        unique=False,
    )
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
    op.create_table(
        "stock_reservation_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("reservation_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity > 0", name=op.f("ck_stock_reservation_lines_quantity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stock_reservation_lines_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["stock_reservations.id"],
            name=op.f("fk_stock_reservation_lines_reservation_id_stock_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservation_lines")),
        sa.UniqueConstraint(
            "reservation_id",
            "product_id",
            name=op.f("uq_stock_reservation_lines_reservation_id_product_id"),
        ),
    )
    op.create_index(
        op.f("ix_stock_reservation_lines_product_id"),
        "stock_reservation_lines",
        ["product_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("stock_reservation_lines")
    op.drop_table("outbox_claims")
    op.drop_table("stock_reservations")
    op.drop_table("products")
    op.drop_table("outbox_events")
    op.drop_table("inbox_events")
    op.drop_table("categories")  # their indexes with them
