"""The transactional outbox: events and the consumers' claims on them.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
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
    with op.batch_alter_table("outbox_claims", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_claims_consumer_batch", ["consumer", "batch"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_claims_outbox_id"), ["outbox_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping the foreign key's index first is refused by
    # MySQL/MariaDB (1553).
    op.drop_table("outbox_claims")
    op.drop_table("outbox_events")
