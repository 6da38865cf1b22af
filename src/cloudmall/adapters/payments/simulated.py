"""A simulated card gateway with published test card numbers, for development and tests."""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal

from cloudmall.domain.payments import ChargeResult

log = logging.getLogger(__name__)

SUCCESS_CARD = "4242424242424242"
DECLINED_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class SimulatedGateway:
    """Approves 4242 4242 4242 4242 (and any other Luhn-valid number); declines the test cards."""

    async def charge(self, *, amount: Decimal, currency: str, card_number: str) -> ChargeResult:
        if not luhn_valid(card_number):
            return ChargeResult(approved=False, reference="", decline_reason="invalid_number")
        reason = DECLINED_CARDS.get(card_number)
        if reason:
            return ChargeResult(approved=False, reference="", decline_reason=reason)
        return ChargeResult(approved=True, reference=f"sim_{secrets.token_hex(12)}")

    async def refund(self, *, reference: str, amount: Decimal) -> None:
        log.info("simulated refund of %s for %s", amount, reference)
