"""Payment intents (a payment written before its charge, under the key the gateway knows it by)
and the trace context of each outbox event (the monolith's 0010, this context's part).

Revision ID: payments_0002
Revises: payments_0001
Create Date: 2026-12-02 19:00:00.000000
"""

from collections.abc import Sequence

from cloudmall.migrations.steps import s0010_outbox_traceparent, s0010_payment_intents

revision: str = "payments_0002"
down_revision: str | None = "payments_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    s0010_payment_intents.upgrade()
    s0010_outbox_traceparent.upgrade()


def downgrade() -> None:
    s0010_outbox_traceparent.downgrade()
    s0010_payment_intents.downgrade()
