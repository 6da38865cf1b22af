"""Which tables each bounded context owns (docs/microservices.md): in the services topology each
context's database holds its tables alone, migrated by its own Alembic history
(`migrations/contexts/<context>/`); the monolith's database holds them all.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from cloudmall.adapters.db.tables import metadata

CONTEXTS = ("users", "products", "orders", "payments")

#: Every context's database has its own outbox, the outbox readers' claims and its inbox.
EVENT_TABLES = ("outbox_events", "outbox_claims", "inbox_events")

OWN_TABLES: dict[str, tuple[str, ...]] = {
    "users": ("users", "refresh_tokens", "consents", "addresses", "mail_deliveries"),
    "products": ("categories", "products", "stock_reservations", "stock_reservation_lines"),
    # Idempotency-Keys are kept where the answer they replay is made: orders' and payments'.
    "orders": ("orders", "order_lines", "idempotency_keys"),
    "payments": ("payments", "idempotency_keys"),
}


def context_tables(context: str) -> tuple[str, ...]:
    if context not in OWN_TABLES:
        raise ValueError(f"unknown context {context!r} (the contexts are {', '.join(CONTEXTS)})")
    return OWN_TABLES[context] + EVENT_TABLES


def context_metadata(context: str) -> MetaData:
    """A MetaData holding copies of the context's tables (its database's schema)."""
    own = MetaData(naming_convention=metadata.naming_convention)
    for name in context_tables(context):
        metadata.tables[name].to_metadata(own)
    return own
