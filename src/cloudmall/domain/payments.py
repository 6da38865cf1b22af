"""Payments taken for orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class PaymentStatus(StrEnum):
    CAPTURED = "captured"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    order_id: int
    amount: Decimal
    status: PaymentStatus
    provider_reference: str
    card_last4: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What a payment gateway answered: approved with a reference, or declined with a reason."""

    approved: bool
    reference: str
    decline_reason: str = ""
