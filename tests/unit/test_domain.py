"""The domain's rules, with no services or I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudmall.domain.errors import InvalidInput, InvalidTransition, NotFound, OrderLimitExceeded
from cloudmall.domain.money import to_money
from cloudmall.domain.orders import (
    ALLOWED_TRANSITIONS,
    OrderStatus,
    check_transition,
    merge_items,
    price_lines,
)
from cloudmall.domain.products import Product
from cloudmall.domain.users import normalize_email


def product(pid: int, price: str, stock: int = 5) -> Product:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Product(pid, f"P{pid}", Decimal(price), "", "c", stock, None, moment, moment)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (OrderStatus.PENDING, OrderStatus.PAID),
        (OrderStatus.PAID, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        (OrderStatus.PENDING, OrderStatus.CANCELLED),
        (OrderStatus.PAID, OrderStatus.CANCELLED),  # cancelled before shipping: refunded
    ],
)
def test_the_allowed_edges(source: OrderStatus, target: OrderStatus) -> None:
    check_transition(source, target)


def test_every_other_move_is_refused() -> None:
    allowed = {(s, t) for s, targets in ALLOWED_TRANSITIONS.items() for t in targets}
    assert len(allowed) == 5
    assert (OrderStatus.SHIPPED, OrderStatus.CANCELLED) not in allowed  # on its way: no refund
    for source in OrderStatus:
        for target in OrderStatus:
            if (source, target) not in allowed:
                with pytest.raises(InvalidTransition):
                    check_transition(source, target)


def test_merge_items_adds_repeated_products_and_checks_limits() -> None:
    assert merge_items([(2, 1), (1, 2), (2, 3)], max_lines=5, max_quantity=10) == {2: 4, 1: 2}
    with pytest.raises(InvalidInput, match="at least 1"):
        merge_items([(1, 0)], max_lines=5, max_quantity=10)
    with pytest.raises(OrderLimitExceeded, match="At most 10"):
        merge_items([(1, 6), (1, 5)], max_lines=5, max_quantity=10)
    with pytest.raises(OrderLimitExceeded, match="at most 1 different"):
        merge_items([(1, 1), (2, 1)], max_lines=1, max_quantity=10)
    with pytest.raises(InvalidInput, match="at least one product"):
        merge_items([], max_lines=5, max_quantity=10)


def test_price_lines_uses_current_prices_in_id_order() -> None:
    lines, total = price_lines({3: 2, 1: 1}, {1: product(1, "0.10"), 3: product(3, "0.20")})
    assert [line.product_id for line in lines] == [1, 3]
    assert total == Decimal("0.50")
    with pytest.raises(NotFound):
        price_lines({9: 1}, {})


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
            st.integers(1, 100),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_totals_are_exact_sums_of_lines(priced: list[tuple[Decimal, int]]) -> None:
    products = {i + 1: product(i + 1, str(price)) for i, (price, _) in enumerate(priced)}
    lines, total = price_lines({i + 1: qty for i, (_, qty) in enumerate(priced)}, products)
    assert total == sum((price * qty for price, qty in priced), Decimal(0))
    assert total == sum((line.line_total for line in lines), Decimal(0))


def test_money_parsing() -> None:
    assert to_money(10.5) == Decimal("10.50")
    assert to_money("0.005") == Decimal("0.01")
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValueError, match="not an amount"):
            to_money(bad)


def test_emails_compare_case_insensitively() -> None:
    assert normalize_email("  Kim@Example.COM ") == "kim@example.com"
