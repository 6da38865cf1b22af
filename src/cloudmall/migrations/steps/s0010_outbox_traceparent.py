"""The outbox keeps each event's W3C trace context (step of monolith 0010 and every context's
0002), so whoever handles the event continues the trace of the work that wrote it."""

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    with op.batch_alter_table("outbox_events") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_events") as batch:
        batch.drop_column("traceparent")
