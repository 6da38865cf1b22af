"""Payments taken for orders: each written as an intent before its charge, and its lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cloudmall.domain.errors import InvalidTransition


class PaymentStatus(StrEnum):
    PENDING = "pending"  # the intent is written; the gateway has not answered yet
    CHARGED = "charged"  # the gateway approved (its reference known); the order not yet paid
    CAPTURED = "captured"  # the order is paid with it
    REFUNDED = "refunded"  # charged, then given back
    DECLINED = "declined"  # the gateway said no: nothing was charged
    ABANDONED = "abandoned"  # cut off before the charge: the gateway never made it


ALLOWED_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.CHARGED, PaymentStatus.DECLINED, PaymentStatus.ABANDONED}
    ),
    # charged → refunded: its order was refused (cancelled, expired, paid by another) or
    # cancelled before the charge was captured.
    PaymentStatus.CHARGED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.REFUNDED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.DECLINED: frozenset(),
    PaymentStatus.ABANDONED: frozenset(),
}

#: Payments the gateway may hold a charge for that the order has not settled: the reconciler's.
UNSETTLED = frozenset({PaymentStatus.PENDING, PaymentStatus.CHARGED})
#: Payments whose charge stands and may be given back (a cancel refunds them).
REFUNDABLE = frozenset({PaymentStatus.CHARGED, PaymentStatus.CAPTURED})
#: Payments an order's customer sees: a charge settled one way or the other.
VISIBLE = frozenset({PaymentStatus.CAPTURED, PaymentStatus.REFUNDED})


def check_transition(current: PaymentStatus, target: PaymentStatus) -> None:
    """Raise InvalidTransition unless `current → target` is an edge of the payment lifecycle."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(f"A payment that is {current} cannot become {target}")


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    order_id: int
    amount: Decimal
    status: PaymentStatus
    intent_key: str  # the key the gateway knows the charge by (its idempotency key)
    provider_reference: str | None  # the gateway's, once it has approved the charge
    card_last4: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What a payment gateway answered: approved with a reference, or declined with a reason."""

    approved: bool
    reference: str
    decline_reason: str = ""
