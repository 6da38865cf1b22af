"""Stock reservations (the products context's), and no foreign key across a context's boundary.

Every existing order gets the reservation `order-<id>` holding its lines' units — reserved while
it is pending (expiring the default reservation time after it was placed), sold once paid,
released when cancelled — so `stock + reserved + sold` is what the shop received from the start.
The keys from orders to users, order lines to products, payments to orders and idempotency keys
to users go (the columns and their indexes stay); the downgrade puts them back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(12, 2, asdecimal=True)

#: The shop's default reservation time (CLOUDMALL_RESERVATION_MINUTES) when this was written.
RESERVATION_TIME = timedelta(minutes=30)
BATCH = 1000

#: (table, column, referred table) of each key that crossed a context's boundary; `orders` first,
#: dropped last: SQLite rebuilds it, which must wait until no key refers to it.
CROSSING_KEYS = (
    ("orders", "user_id", "users"),
    ("order_lines", "product_id", "products"),
    ("payments", "order_id", "orders"),
    ("idempotency_keys", "user_id", "users"),
)
ORDER_LINES_KEY = "fk_order_lines_order_id_orders"

STATUS_OF_ORDER = {
    "pending": "reserved",
    "paid": "sold",
    "shipped": "sold",
    "delivered": "sold",
    "cancelled": "released",
}

_orders = sa.table(
    "orders",
    sa.column("id", ID),
    sa.column("status", sa.String()),
    sa.column("created_at", TIMESTAMP),
    sa.column("updated_at", TIMESTAMP),
    sa.column("reservation_id", sa.String()),
)
_order_lines = sa.table(
    "order_lines",
    sa.column("order_id", ID),
    sa.column("product_id", ID),
    sa.column("product_name", sa.String()),
    sa.column("unit_price", MONEY),
    sa.column("quantity", sa.Integer()),
)


def _key_name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _order_lines_key(*, keep: bool) -> None:
    """SQLite rebuilds a table to change its keys, and dropping `orders` with foreign keys on
    deletes what references it (order lines: cascade): the lines' key to orders is taken off
    while `orders` is rebuilt and put back after."""
    if not _sqlite():
        return
    with op.batch_alter_table("order_lines") as batch:
        if keep:
            batch.create_foreign_key(
                ORDER_LINES_KEY, "orders", ["order_id"], ["id"], ondelete="CASCADE"
            )
        else:
            batch.drop_constraint(ORDER_LINES_KEY, type_="foreignkey")


def upgrade() -> None:
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
        "ix_stock_reservations_status_expires", "stock_reservations", ["status", "expires_at"]
    )
    op.create_table(
        "stock_reservation_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("reservation_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity > 0", name=op.f("ck_stock_reservation_lines_quantity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["stock_reservations.id"],
            name=op.f("fk_stock_reservation_lines_reservation_id_stock_reservations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stock_reservation_lines_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservation_lines")),
        sa.UniqueConstraint(
            "reservation_id",
            "product_id",
            name=op.f("uq_stock_reservation_lines_reservation_id_product_id"),
        ),
    )
    op.create_index(
        op.f("ix_stock_reservation_lines_product_id"), "stock_reservation_lines", ["product_id"]
    )
    _order_lines_key(keep=False)
    for table, column, referred in reversed(CROSSING_KEYS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_key_name(table, column, referred), type_="foreignkey")
            if table == "orders":
                batch.add_column(sa.Column("reservation_id", sa.String(length=64), nullable=True))
    _order_lines_key(keep=True)
    _reserve_existing_orders()
    op.create_index("ix_orders_reservation_id", "orders", ["reservation_id"], unique=True)


def _reserve_existing_orders() -> None:
    """Each order's reservation `order-<id>`, with its lines' units, names and prices."""
    bind = op.get_bind()
    reservations = sa.table(
        "stock_reservations",
        sa.column("id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("expires_at", TIMESTAMP),
        sa.column("created_at", TIMESTAMP),
        sa.column("updated_at", TIMESTAMP),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_orders.c.id, _orders.c.status, _orders.c.created_at, _orders.c.updated_at)
            .where(_orders.c.id > last)
            .order_by(_orders.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            reservations.insert(),
            [
                {
                    "id": f"order-{row.id}",
                    "status": STATUS_OF_ORDER[row.status],
                    "expires_at": row.created_at + RESERVATION_TIME,
                    "created_at": row.created_at,
                    "updated_at": row.updated_at,
                }
                for row in rows
            ],
        )
        last = rows[-1].id
    reservation_id = sa.literal("order-") + sa.cast(_order_lines.c.order_id, sa.String(20))
    lines = sa.table(
        "stock_reservation_lines",
        sa.column("reservation_id", sa.String()),
        sa.column("product_id", ID),
        sa.column("product_name", sa.String()),
        sa.column("unit_price", MONEY),
        sa.column("quantity", sa.Integer()),
    )
    # One line per product (an order merges its lines; grouped all the same, to be safe).
    bind.execute(
        lines.insert().from_select(
            ["reservation_id", "product_id", "product_name", "unit_price", "quantity"],
            sa.select(
                reservation_id,
                _order_lines.c.product_id,
                sa.func.min(_order_lines.c.product_name),
                sa.func.min(_order_lines.c.unit_price),
                sa.func.sum(_order_lines.c.quantity),
            ).group_by(_order_lines.c.order_id, _order_lines.c.product_id),
        )
    )
    bind.execute(
        sa.update(_orders).values(
            reservation_id=sa.literal("order-") + sa.cast(_orders.c.id, sa.String(20))
        )
    )


def downgrade() -> None:
    op.drop_index("ix_orders_reservation_id", table_name="orders")
    _order_lines_key(keep=False)
    for table, column, referred in CROSSING_KEYS:
        with op.batch_alter_table(table) as batch:
            if table == "orders":
                batch.drop_column("reservation_id")
            batch.create_foreign_key(_key_name(table, column, referred), referred, [column], ["id"])
    _order_lines_key(keep=True)
    op.drop_table("stock_reservation_lines")  # its index with it
    op.drop_table("stock_reservations")
