"""A simulated card gateway with published test card numbers, for development and tests."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from decimal import Decimal

from cloudmall.domain.cards import Card, card_refusal
from cloudmall.domain.payments import ChargeResult

log = logging.getLogger(__name__)

SUCCESS_CARD = "4242424242424242"
DECLINED_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}


class SimulatedGateway:
    """Approves 4242 4242 4242 4242 (and any other Luhn-valid number with a future expiry and a
    3–4 digit CVC); declines the test cards, and refuses a card that fails those checks."""

    def __init__(self) -> None:
        self.refunded: set[str] = set()  # references refunded so far

    async def charge(self, *, amount: Decimal, currency: str, card: Card) -> ChargeResult:
        reason = card_refusal(card, datetime.now(UTC).date()) or DECLINED_CARDS.get(card.number)
        if reason:
            return ChargeResult(approved=False, reference="", decline_reason=reason)
        return ChargeResult(approved=True, reference=f"sim_{secrets.token_hex(12)}")

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        if reference in self.refunded:
            log.info("simulated refund of %s: already refunded", reference)
            return
        self.refunded.add(reference)
        log.info("simulated refund of %s for %s", amount, reference)
