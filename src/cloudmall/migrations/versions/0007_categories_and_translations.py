"""Categories the staff manage (a Korean and an English name), English product texts, list prices.

Today's free-text `products.category` values become rows of `categories` (their slug stays the
product's `category`, so filters and the product JSON keep working); the demo's slugs get their
Korean and English names, any other value starts with its slug as both names for staff to rename.
A new, empty database gets no rows: a schema holds no data of its own (a backup restores into
it), and the default category is made when a product first goes into it.

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(12, 2, asdecimal=True)

# The slugs the shop has shipped with (the default and the demo catalogue's), named.
KNOWN_NAMES = {
    "general": ("일반", "General"),
    "clothing": ("의류", "Clothing"),
    "electronics": ("전자기기", "Electronics"),
    "kitchen": ("주방", "Kitchen"),
    "books": ("도서", "Books"),
    "sports": ("스포츠", "Sports"),
    "living": ("리빙", "Living"),
}


def upgrade() -> None:
    categories = op.create_table(
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
    used = op.get_bind().execute(sa.text("SELECT DISTINCT category FROM products")).scalars()
    now = datetime.now(UTC).replace(tzinfo=None)
    slugs = sorted(set(used))
    if slugs:
        op.bulk_insert(
            categories,
            [
                {
                    "slug": slug,
                    "name": KNOWN_NAMES.get(slug, (slug, slug))[0],
                    "name_en": KNOWN_NAMES.get(slug, (slug, slug))[1],
                    "created_at": now,
                    "updated_at": now,
                }
                for slug in slugs
            ],
        )
    # batch mode: SQLite rebuilds the table; the others alter it in place.
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("name_en", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("description_en", sa.Text(), nullable=True))
        batch.add_column(sa.Column("list_price", MONEY, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("list_price")
        batch.drop_column("description_en")
        batch.drop_column("name_en")
    op.drop_table("categories")
