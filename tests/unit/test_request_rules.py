"""Request bodies accept exactly what the OpenAPI schema states: the rules written once."""

from __future__ import annotations

import re
import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from cloudmall.web.fields import SPACES, VISIBLE, any_of_in_any_case
from cloudmall.web.schemas import GuideOrderIn, ItemsOrderIn, PayIn, PlaceOrderIn, ProductIn

ORDER: TypeAdapter[ItemsOrderIn | GuideOrderIn] = TypeAdapter(PlaceOrderIn)


@given(st.text())
def test_visible_text_is_what_strip_leaves_something_of(text: str) -> None:
    assert (re.search(VISIBLE, text) is not None) == bool(text.strip())


def test_the_written_out_spaces_are_every_character_python_calls_space() -> None:
    """fields.SPACES is a constant (no scan at a cold start): the same as scanning them all."""
    assert list(SPACES) == [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]


def test_an_any_of_pattern_ignores_letter_case() -> None:
    words = ["localhost", "test", "invalid", "example"]
    pattern = f"^{any_of_in_any_case(words)}$"
    assert all(re.fullmatch(pattern, word.upper()) for word in words)
    assert not re.fullmatch(pattern, "a long enough passphrase")


def test_an_order_is_either_items_or_products() -> None:
    items = ORDER.validate_python({"items": [{"productId": 1, "quantity": 2}]})
    assert isinstance(items, ItemsOrderIn) and items.pairs() == [(1, 2)]
    guide = ORDER.validate_python({"products": [3, 3], "userId": 7, "totalAmount": 10.5})
    assert isinstance(guide, GuideOrderIn) and guide.pairs() == [(3, 1), (3, 1)]
    for body in ({}, {"items": [], "products": [1]}, {"items": None, "products": [1]}, [1]):
        with pytest.raises(ValidationError, match="either 'items' or 'products'"):
            ORDER.validate_python(body)


@pytest.mark.parametrize("quantity", [True, "2", 2.5, 0, 101])
def test_a_quantity_is_a_json_number_within_the_limit(quantity: object) -> None:
    with pytest.raises(ValidationError):
        ORDER.validate_python({"items": [{"productId": 1, "quantity": quantity}]})
    assert ORDER.validate_python({"items": [{"productId": 1.0, "quantity": 100}]}).pairs() == [
        (1, 100)
    ]


@pytest.mark.parametrize(
    ("sent", "total"),
    [(10.5, "10.5"), (10.505, "10.505"), (0, "0"), ("10.50", "10.50"), ("7", "7")],
)
def test_a_client_total_is_taken_exactly_as_written(sent: object, total: str) -> None:
    assert ORDER.validate_python({"products": [1], "totalAmount": sent}).total_amount == Decimal(
        total
    )


@pytest.mark.parametrize("sent", [-1, -0.01, "1e3", "10.505", " 10", "", True, [10], float("inf")])
def test_other_client_totals_are_refused(sent: object) -> None:
    with pytest.raises(ValidationError):
        ORDER.validate_python({"products": [1], "totalAmount": sent})


@pytest.mark.parametrize("price", ["12900", "4500.50", "0.5", "0.05", "9999999999.99"])
def test_prices_are_exact_positive_decimal_strings(price: str) -> None:
    assert ProductIn.model_validate({"name": "Mug", "price": price}).price == price


@pytest.mark.parametrize(
    "price", ["0", "0.00", "1.005", "1e3", "012", ".5", "-1", "10000000000", 12.5]
)
def test_other_prices_are_refused(price: object) -> None:
    with pytest.raises(ValidationError):
        ProductIn.model_validate({"name": "Mug", "price": price})


def test_a_name_needs_more_than_white_space() -> None:
    with pytest.raises(ValidationError):
        ProductIn.model_validate({"name": " \t\u3000", "price": "1"})


CARD = {"expiry": "12/49", "cvc": "123"}


@pytest.mark.parametrize(
    ("card", "valid"),
    [
        ("4242 4242 4242 4242", True),
        ("4242-4242-4242-4242", True),
        ("424242424242", True),
        ("4242 4242 424", False),
        ("4242424242424242424242", False),
        ("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", False),  # Arabic-Indic digits: str.isdigit() says yes
    ],
)
def test_card_numbers_are_12_to_19_ascii_digits(card: str, valid: bool) -> None:
    if valid:
        assert PayIn.model_validate({**CARD, "cardNumber": card}).card_number == card
    else:
        with pytest.raises(ValidationError):
            PayIn.model_validate({**CARD, "cardNumber": card})
