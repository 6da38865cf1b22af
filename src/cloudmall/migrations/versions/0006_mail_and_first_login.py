"""Mail and the first log-in: each account's language and its must-change-password flag, and the
mail reader's record of the mails it took and sent.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table; the others alter it in place.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="ko"))
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default="0")
        )
    op.create_table(
        "mail_deliveries",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_mail_deliveries")),
    )
    op.create_index(
        op.f("ix_mail_deliveries_updated_at"), "mail_deliveries", ["updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_deliveries_updated_at"), table_name="mail_deliveries")
    op.drop_table("mail_deliveries")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("language")
