"""Delivery rules: addresses, the fee rule, carriers, card checks, and the address book."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cloudmall.adapters.payments.simulated import SimulatedGateway
from cloudmall.domain.cards import Card, card_refusal, luhn_valid
from cloudmall.domain.delivery import (
    CARRIERS,
    Address,
    DeliveryFees,
    check_address,
    check_shipment,
    quote,
)
from cloudmall.domain.errors import Conflict, InvalidInput, NotFound
from cloudmall.services import delivery
from cloudmall.services.address_book import LocalAddressBook
from cloudmall.services.orders import OrderLimits
from cloudmall.services.price_list import LocalPriceList
from tests.unit.fakes import HOME, FakeStore, customer

FEES = DeliveryFees(fee=Decimal("3000"), free_from=Decimal("50000"))
TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("subtotal", "fee"),
    [("0.01", "3000.00"), ("49999.99", "3000.00"), ("50000.00", "0.00"), ("120000", "0.00")],
)
def test_the_fee_is_charged_under_the_free_delivery_threshold(subtotal: str, fee: str) -> None:
    cost = quote(Decimal(subtotal), FEES)
    assert cost.delivery_fee == Decimal(fee)
    assert cost.total == Decimal(subtotal) + Decimal(fee)


def test_the_default_rule_charges_nothing() -> None:
    assert quote(Decimal("100"), DeliveryFees()).total == Decimal("100.00")


def test_an_address_is_trimmed_and_checked() -> None:
    padded = Address(" 김민지 ", "010-1234-5678 ", " 06236", " 서울 강남구 테헤란로 152 ", " 12층 ")
    assert check_address(padded) == HOME
    for bad, message in [
        (Address("", "010-1234-5678", "06236", "서울"), "recipient"),
        (Address("김", "1234", "06236", "서울"), "phone"),
        (Address("김", "010-1234-5678", "0623", "서울"), "postal code"),
        (Address("김", "010-1234-5678", "062361", "서울"), "postal code"),
        (Address("김", "010-1234-5678", "06236", "  "), "address"),
        (Address("김", "010-1234-5678", "06236", "서울", "x" * 201), "detail"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            check_address(bad)


def test_carriers_are_data_in_both_languages_and_a_shipment_names_one() -> None:
    assert [c.name_ko for c in CARRIERS.values()] == [
        "CJ대한통운",
        "한진택배",
        "롯데택배",
        "우체국택배",
        "로젠택배",
    ]
    assert all(c.name_en.isascii() for c in CARRIERS.values())
    assert check_shipment("epost", " 6012345678901 ").tracking_number == "6012345678901"
    with pytest.raises(InvalidInput, match="carrier"):
        check_shipment("dhl", "6012345678901")
    with pytest.raises(InvalidInput, match="tracking"):
        check_shipment("cj", "12 34")


@pytest.mark.parametrize(
    ("card", "refusal"),
    [
        (Card("4242424242424242", "12/26", "123"), None),  # valid through its month's end
        (Card("4242424242424242", "01/49", "1234"), None),
        (Card("4242424242424241", "12/29", "123"), "invalid_number"),
        (Card("4242424242424242", "13/29", "123"), "invalid_expiry"),
        (Card("4242424242424242", "1229", "123"), "invalid_expiry"),
        (Card("4242424242424242", "11/26", "123"), "expired_card"),
        (Card("4242424242424242", "12/29", "12"), "invalid_cvc"),
        (Card("4242424242424242", "12/29", "12345"), "invalid_cvc"),
        (Card("4242424242424242", "12/29", "12a"), "invalid_cvc"),
    ],
)
def test_each_card_refusal_has_its_own_reason(card: Card, refusal: str | None) -> None:
    assert card_refusal(card, TODAY) == refusal


def test_luhn() -> None:
    assert luhn_valid("4242424242424242") and luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.anyio
async def test_the_simulated_gateway_checks_the_card_and_refunds_a_charge_once() -> None:
    gateway = SimulatedGateway()
    declined = await gateway.charge(
        amount=Decimal("10"),
        currency="KRW",
        card=Card("4242424242424242", "01/20", "123"),
        intent_key="pi_1",
    )
    assert (declined.approved, declined.decline_reason) == (False, "expired_card")
    charged = await gateway.charge(
        amount=Decimal("10"),
        currency="KRW",
        card=Card("4242424242424242", "12/49", "123"),
        intent_key="pi_2",
    )
    assert charged.approved
    again = await gateway.charge(
        amount=Decimal("10"),
        currency="KRW",
        card=Card("4242424242424242", "12/49", "123"),
        intent_key="pi_2",
    )
    assert again == charged  # one charge per intent key
    assert await gateway.find("pi_2") == charged and await gateway.find("pi_3") is None
    await gateway.refund(reference=charged.reference, amount=Decimal("10"))
    await gateway.refund(reference=charged.reference, amount=Decimal("10"))
    assert gateway.refunded == {charged.reference}


@pytest.mark.anyio
async def test_the_address_book_keeps_one_default(store: FakeStore) -> None:
    me, other = customer(), customer(2000)
    first = await delivery.add_address(uow=store, principal=me, address=HOME, make_default=False)
    assert first.is_default  # the first one is, whatever was asked
    office = Address("김민지", "02-123-4567", "04524", "서울 중구 세종대로 110")
    second = await delivery.add_address(uow=store, principal=me, address=office, make_default=True)
    listed = await delivery.list_addresses(uow=store, principal=me)
    assert [(a.id, a.is_default) for a in listed] == [(second.id, True), (first.id, False)]
    await delivery.make_default(uow=store, principal=me, address_id=first.id)
    assert [
        a.id for a in await delivery.list_addresses(uow=store, principal=me) if a.is_default
    ] == [first.id]
    with pytest.raises(NotFound):  # another's address looks missing
        await delivery.delete_address(uow=store, principal=other, address_id=first.id)
    with pytest.raises(NotFound):
        await delivery.saved_address(
            addresses=LocalAddressBook(store), principal=other, address_id=first.id
        )
    await delivery.delete_address(uow=store, principal=me, address_id=first.id)
    left = await delivery.list_addresses(uow=store, principal=me)
    assert [(a.id, a.is_default) for a in left] == [(second.id, True)]  # the default moved


@pytest.mark.anyio
async def test_an_address_book_has_a_limit(store: FakeStore) -> None:
    for _ in range(delivery.MAX_ADDRESSES):
        await delivery.add_address(
            uow=store, principal=customer(), address=HOME, make_default=False
        )
    with pytest.raises(Conflict):
        await delivery.add_address(
            uow=store, principal=customer(), address=HOME, make_default=False
        )


@pytest.mark.anyio
async def test_a_quote_prices_the_items_and_adds_the_fee(store: FakeStore, add_product) -> None:  # type: ignore[no-untyped-def]
    mug = await add_product(price="12900.00")
    limits = OrderLimits(fees=FEES)
    cost = await delivery.quote_items(
        prices=LocalPriceList(store), items=[(mug.id, 2), (mug.id, 1)], limits=limits
    )
    assert (cost.subtotal, cost.delivery_fee, cost.total) == (
        Decimal("38700.00"),
        Decimal("3000.00"),
        Decimal("41700.00"),
    )
    free = await delivery.quote_items(
        prices=LocalPriceList(store), items=[(mug.id, 4)], limits=limits
    )
    assert free.delivery_fee == Decimal("0.00")
    with pytest.raises(NotFound):
        await delivery.quote_items(prices=LocalPriceList(store), items=[(999, 1)], limits=limits)
