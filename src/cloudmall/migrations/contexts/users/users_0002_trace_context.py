"""The trace context of each outbox event (the monolith's 0010, this context's part).

Revision ID: users_0002
Revises: users_0001
Create Date: 2026-12-02 19:00:00.000000
"""

from collections.abc import Sequence

from cloudmall.migrations.steps import s0010_outbox_traceparent

revision: str = "users_0002"
down_revision: str | None = "users_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    s0010_outbox_traceparent.upgrade()


def downgrade() -> None:
    s0010_outbox_traceparent.downgrade()
