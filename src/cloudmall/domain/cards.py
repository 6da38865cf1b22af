"""A card as the payment form sends it, and the checks a gateway makes before charging it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

#: MM/YY, as printed on the card.
EXPIRY_PATTERN = r"^(0[1-9]|1[0-2])/([0-9]{2})$"
CVC_PATTERN = r"^[0-9]{3,4}$"


@dataclass(frozen=True, slots=True)
class Card:
    number: str  # digits only
    expiry: str  # MM/YY
    cvc: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


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


def expiry_month(expiry: str) -> tuple[int, int] | None:
    """(year, month) of an MM/YY expiry, or None if it is not one."""
    match = re.fullmatch(EXPIRY_PATTERN, expiry)
    if match is None:
        return None
    return 2000 + int(match.group(2)), int(match.group(1))


def card_refusal(card: Card, today: date) -> str | None:
    """Why a gateway refuses the card before charging it, or None: `invalid_number` (Luhn),
    `invalid_expiry` (not MM/YY), `expired_card` (its month is over), `invalid_cvc` (not 3–4
    digits). A card is valid through the last day of its expiry month."""
    if not card.number.isdigit() or not luhn_valid(card.number):
        return "invalid_number"
    month = expiry_month(card.expiry)
    if month is None:
        return "invalid_expiry"
    if month < (today.year, today.month):
        return "expired_card"
    if not re.fullmatch(CVC_PATTERN, card.cvc):
        return "invalid_cvc"
    return None
