"""The payment intent (step of monolith 0010 and payments_0002).

A payment is written before its charge, under the key the gateway knows the charge by, so a charge
cut off is found and finished or refunded. Existing payments were all answered by the gateway:
each keeps its reference and gets the key `legacy-<id>`.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The statuses the shop knew before intents; a downgrade keeps these payments alone.
ANSWERED = ("captured", "refunded")

_payments = sa.table(
    "payments",
    sa.column("id", ID),
    sa.column("status", sa.String()),
    sa.column("intent_key", sa.String()),
    sa.column("created_at", TIMESTAMP),
    sa.column("updated_at", TIMESTAMP),
)


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("intent_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("updated_at", TIMESTAMP, nullable=True))
    op.get_bind().execute(
        sa.update(_payments).values(
            intent_key=sa.literal("legacy-") + sa.cast(_payments.c.id, sa.String(20)),
            updated_at=_payments.c.created_at,
        )
    )
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("intent_key", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("updated_at", existing_type=TIMESTAMP, nullable=False)
        batch.alter_column("provider_reference", existing_type=sa.String(length=64), nullable=True)
        batch.create_unique_constraint(op.f("uq_payments_intent_key"), ["intent_key"])
    op.create_index(
        "ix_payments_status_updated_at", "payments", ["status", "updated_at"], unique=False
    )


def downgrade() -> None:
    """Back to payments answered by the gateway alone: an intent not yet answered is dropped."""
    op.get_bind().execute(sa.delete(_payments).where(_payments.c.status.not_in(ANSWERED)))
    op.drop_index("ix_payments_status_updated_at", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(op.f("uq_payments_intent_key"), type_="unique")
        batch.alter_column("provider_reference", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("updated_at")
        batch.drop_column("intent_key")
