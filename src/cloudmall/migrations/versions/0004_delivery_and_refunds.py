"""Delivery: orders keep their goods total, delivery fee, a copy of their address and their
shipment (carrier, tracking number); customers keep an address book.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(precision=12, scale=2)

SHIPPING_COLUMNS = (
    ("ship_recipient", 50),
    ("ship_phone", 20),
    ("ship_postal_code", 5),
    ("ship_address1", 200),
    ("ship_address2", 200),
    ("carrier", 16),
    ("tracking_number", 32),
)


def upgrade() -> None:
    # Expand only, every new column nullable or defaulted: the previous release keeps placing
    # orders on this schema (a null subtotal means the goods are the whole total, no fee).
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("subtotal", MONEY, nullable=True))
        batch.add_column(sa.Column("delivery_fee", MONEY, nullable=False, server_default="0"))
        for name, length in SHIPPING_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    op.create_table(
        "addresses",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("recipient", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("postal_code", sa.String(length=5), nullable=False),
        sa.Column("address1", sa.String(length=200), nullable=False),
        sa.Column("address2", sa.String(length=200), server_default="", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_addresses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses") as batch:
        batch.create_index(batch.f("ix_addresses_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("addresses")  # its index with it (MariaDB refuses to drop the FK's index)
    with op.batch_alter_table("orders") as batch:
        for name, _ in reversed(SHIPPING_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("delivery_fee")
        batch.drop_column("subtotal")
