"""A simulated card gateway with published test card numbers, for development and tests.

It plays another company's service, which outlives our processes: its record of charges (one
per intent key) is a SQLite file every payments process of the shop shares, so a charge made
just before a SIGKILL is still found by the reconciler (`find`). Without a file it keeps the
record in memory (one process's life).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from cloudmall.domain.cards import Card, card_refusal
from cloudmall.domain.payments import ChargeResult

log = logging.getLogger(__name__)

SUCCESS_CARD = "4242424242424242"
DECLINED_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    intent_key TEXT PRIMARY KEY,
    approved INTEGER NOT NULL,
    reference TEXT NOT NULL,
    decline_reason TEXT NOT NULL,
    amount TEXT NOT NULL,
    refunded INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
)
"""


class SimulatedGateway:
    """Approves 4242 4242 4242 4242 (and any other Luhn-valid number with a future expiry and a
    3–4 digit CVC); declines the test cards, and refuses a card that fails those checks. One
    answer per intent key: asked again, it answers the same."""

    def __init__(self, ledger: Path | None = None) -> None:
        self.ledger = ledger
        self._answers: dict[str, ChargeResult] = {}  # without a ledger file
        self.refunded: set[str] = set()  # references refunded so far (without a file)
        self._made = False

    def _connect(self) -> sqlite3.Connection:
        """The ledger, made on first use: a process that never pays (a function's cold start,
        a read-only filesystem) never touches it."""
        assert self.ledger is not None
        if not self._made:
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
        # Several processes write it: wait for another's write rather than fail.
        db = sqlite3.connect(self.ledger, timeout=30, isolation_level="IMMEDIATE")
        if not self._made:
            with db:
                db.execute(_SCHEMA)
            self._made = True
        return db

    async def charge(
        self, *, amount: Decimal, currency: str, card: Card, intent_key: str
    ) -> ChargeResult:
        reason = card_refusal(card, datetime.now(UTC).date()) or DECLINED_CARDS.get(card.number)
        if reason:
            result = ChargeResult(approved=False, reference="", decline_reason=reason)
        else:
            result = ChargeResult(approved=True, reference=f"sim_{secrets.token_hex(12)}")
        if self.ledger is None:
            return self._answers.setdefault(intent_key, result)
        return await asyncio.to_thread(self._keep, intent_key, amount, result)

    def _keep(self, intent_key: str, amount: Decimal, result: ChargeResult) -> ChargeResult:
        """The first answer under the key, kept; a later charge under it gets that one."""
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR IGNORE INTO charges (intent_key, approved, reference, decline_reason,"
                " amount, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    intent_key,
                    int(result.approved),
                    result.reference,
                    result.decline_reason,
                    str(amount),
                    datetime.now(UTC).isoformat(),
                ),
            )
            kept = self._row(db, intent_key)
        assert kept is not None
        return kept

    @staticmethod
    def _row(db: sqlite3.Connection, intent_key: str) -> ChargeResult | None:
        row = db.execute(
            "SELECT approved, reference, decline_reason FROM charges WHERE intent_key = ?",
            (intent_key,),
        ).fetchone()
        if row is None:
            return None
        return ChargeResult(approved=bool(row[0]), reference=row[1], decline_reason=row[2])

    async def find(self, intent_key: str) -> ChargeResult | None:
        if self.ledger is None:
            return self._answers.get(intent_key)
        return await asyncio.to_thread(self._find, intent_key)

    def _find(self, intent_key: str) -> ChargeResult | None:
        with closing(self._connect()) as db, db:
            return self._row(db, intent_key)

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        if self.ledger is None:
            first = reference not in self.refunded
            self.refunded.add(reference)
        else:
            first = await asyncio.to_thread(self._refund, reference)
        if first:
            log.info("simulated refund of %s for %s", amount, reference)
        else:
            log.info("simulated refund of %s: already refunded", reference)

    def _refund(self, reference: str) -> bool:
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "UPDATE charges SET refunded = 1 WHERE reference = ? AND refunded = 0",
                (reference,),
            )
            return cursor.rowcount == 1
