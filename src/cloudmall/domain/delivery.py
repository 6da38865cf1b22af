"""Delivery: Korean addresses, the delivery fee rule, carriers and shipments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from cloudmall.domain.errors import InvalidInput
from cloudmall.domain.money import to_money

#: 우편번호: the five-digit postal code Korea has used since 2015.
POSTAL_CODE_PATTERN = r"^[0-9]{5}$"
#: A Korean phone number: 02-123-4567, 010-1234-5678, 0311234567 (dashes optional).
PHONE_PATTERN = r"^0[0-9]{1,2}-?[0-9]{3,4}-?[0-9]{4}$"
MAX_RECIPIENT = 50
MAX_ADDRESS_LINE = 200
MAX_TRACKING_NUMBER = 32
TRACKING_NUMBER_PATTERN = r"^[0-9A-Za-z-]{6,32}$"


@dataclass(frozen=True, slots=True)
class Address:
    """Where an order goes: 받는 분, 연락처, 우편번호, 기본주소 (road or lot), 상세주소."""

    recipient: str
    phone: str
    postal_code: str
    address1: str
    address2: str = ""


def check_address(address: Address) -> Address:
    """The address with its fields trimmed; InvalidInput if one breaks its rule."""
    trimmed = Address(
        recipient=address.recipient.strip(),
        phone=address.phone.strip(),
        postal_code=address.postal_code.strip(),
        address1=address.address1.strip(),
        address2=address.address2.strip(),
    )
    if not 1 <= len(trimmed.recipient) <= MAX_RECIPIENT:
        raise InvalidInput(f"The recipient must be 1 to {MAX_RECIPIENT} characters")
    if not re.fullmatch(PHONE_PATTERN, trimmed.phone):
        raise InvalidInput("The phone number is not a Korean phone number")
    if not re.fullmatch(POSTAL_CODE_PATTERN, trimmed.postal_code):
        raise InvalidInput("The postal code must be 5 digits")
    if not 1 <= len(trimmed.address1) <= MAX_ADDRESS_LINE:
        raise InvalidInput(f"The address must be 1 to {MAX_ADDRESS_LINE} characters")
    if len(trimmed.address2) > MAX_ADDRESS_LINE:
        raise InvalidInput(f"The address detail can be at most {MAX_ADDRESS_LINE} characters")
    return trimmed


@dataclass(frozen=True, slots=True)
class SavedAddress:
    """An address in a customer's address book."""

    id: int
    user_id: int
    address: Address
    is_default: bool


@dataclass(frozen=True, slots=True)
class DeliveryFees:
    """The delivery fee rule: `fee` per order, nothing from `free_from` of goods on.

    The default charges nothing (a rule the shop's settings replace)."""

    fee: Decimal = Decimal("0.00")
    free_from: Decimal = Decimal("0.00")

    def fee_for(self, subtotal: Decimal) -> Decimal:
        return Decimal("0.00") if subtotal >= self.free_from else to_money(self.fee)


@dataclass(frozen=True, slots=True)
class Quote:
    """What an order costs: its goods, the delivery fee, and the total charged."""

    subtotal: Decimal
    delivery_fee: Decimal

    @property
    def total(self) -> Decimal:
        return to_money(self.subtotal + self.delivery_fee)


def quote(subtotal: Decimal, fees: DeliveryFees) -> Quote:
    return Quote(to_money(subtotal), fees.fee_for(subtotal))


@dataclass(frozen=True, slots=True)
class Carrier:
    code: str
    name_ko: str
    name_en: str


#: The carriers staff can ship with (택배사), by their code.
CARRIERS: dict[str, Carrier] = {
    carrier.code: carrier
    for carrier in (
        Carrier("cj", "CJ대한통운", "CJ Logistics"),
        Carrier("hanjin", "한진택배", "Hanjin Express"),
        Carrier("lotte", "롯데택배", "Lotte Global Logistics"),
        Carrier("epost", "우체국택배", "Korea Post Parcel"),
        Carrier("logen", "로젠택배", "Logen"),
    )
}


@dataclass(frozen=True, slots=True)
class Shipment:
    """How a shipped order travels: its carrier's code and the tracking number (운송장 번호)."""

    carrier: str
    tracking_number: str


def check_shipment(carrier: str, tracking_number: str) -> Shipment:
    if carrier not in CARRIERS:
        raise InvalidInput(f"Unknown carrier {carrier!r}")
    number = tracking_number.strip()
    if not re.fullmatch(TRACKING_NUMBER_PATTERN, number):
        raise InvalidInput("The tracking number must be 6 to 32 letters, digits or dashes")
    return Shipment(carrier, number)
