"""Canonical encoding and content checksums: equal rows give equal bytes on every backend."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudmall.services.backup import (
    TableDigest,
    encode_row,
    encode_value,
    gunzip_lines,
    gzip_lines,
)
from cloudmall.services.ports import TableSpec

SPEC = TableSpec(name="orders", columns=("id", "total", "at", "ok", "note"), primary_key="id")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (None, None),
        (True, True),
        (False, False),
        (0, 0),
        (2**62, 2**62),
        ("김철수 🛒", "김철수 🛒"),
        (Decimal("12900.00"), "12900"),
        (Decimal("12900"), "12900"),
        (Decimal("4500.50"), "4500.5"),
        (Decimal("0.00"), "0"),
        (Decimal("-0.00"), "0"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.01"), "0.01"),
    ],
)
def test_values(value: object, encoded: object) -> None:
    assert encode_value(value) == encoded
    assert type(encode_value(value)) is type(encoded)


def test_datetimes_are_utc_with_microseconds() -> None:
    naive = datetime(2025, 3, 4, 5, 6, 7)  # naive values are stored UTC
    aware = datetime(2025, 3, 4, 14, 6, 7, tzinfo=timezone(timedelta(hours=9)))
    assert encode_value(naive) == "2025-03-04T05:06:07.000000Z"
    assert encode_value(aware) == "2025-03-04T05:06:07.000000Z"
    assert str(encode_value(datetime(2025, 1, 1, microsecond=5, tzinfo=UTC))).endswith(".000005Z")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_non_finite_numbers_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode_value(value)


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        encode_value(b"bytes")


def row(i: int, total: Decimal) -> tuple[object, ...]:
    return (i, total, datetime(2025, 1, 1, tzinfo=UTC), True, None)


def test_checksum_ignores_decimal_scale_and_timezone_but_not_content() -> None:
    a, b, c = TableDigest(SPEC), TableDigest(SPEC), TableDigest(SPEC)
    a.add_row(row(1, Decimal("10.50")))
    b.add_row(
        (
            1,
            Decimal("10.5"),
            datetime(2025, 1, 1, 9, tzinfo=timezone(timedelta(hours=9))),
            True,
            None,
        )
    )
    c.add_row(row(1, Decimal("10.51")))
    assert a.hexdigest() == b.hexdigest() != c.hexdigest()


def test_checksum_covers_the_columns() -> None:
    other = TableDigest(TableSpec("orders", ("id", "total", "at", "ok", "memo"), "id"))
    same = TableDigest(SPEC)
    assert other.hexdigest() != same.hexdigest()


def test_rows_must_come_in_primary_key_order() -> None:
    digest = TableDigest(SPEC)
    digest.add_row(row(1, Decimal(1)))
    digest.add_row(row(5, Decimal(1)))
    with pytest.raises(ValueError, match="primary-key order"):
        digest.add_row(row(5, Decimal(1)))
    with pytest.raises(ValueError, match="primary-key order"):
        digest.add_row(row(3, Decimal(1)))


def test_read_back_lines_give_the_same_checksum() -> None:
    written, read = TableDigest(SPEC), TableDigest(SPEC)
    lines = [written.add_row(row(i, Decimal(i) / 4)) for i in range(1, 50)]
    for line in gunzip_lines(gzip_lines(lines)):
        read.add_line(line)
    assert read.hexdigest() == written.hexdigest() and read.rows == 49


def test_read_back_lines_are_checked() -> None:
    digest = TableDigest(SPEC)
    with pytest.raises(ValueError, match="not JSON"):
        digest.add_line(b"[1, 2")
    with pytest.raises(ValueError, match="columns"):
        digest.add_line(b"[1, 2]")


def test_gzip_is_deterministic_and_truncation_is_caught() -> None:
    lines = [encode_row(row(i, Decimal(i))) for i in range(1, 2000)]
    packed = gzip_lines(lines)
    assert packed == gzip_lines(lines)
    assert gunzip_lines(gzip_lines([])) == []
    with pytest.raises((ValueError, zlib.error)):
        gunzip_lines(packed[: len(packed) // 2])
    with pytest.raises((ValueError, zlib.error)):
        gunzip_lines(packed + b"junk")


@given(
    st.decimals(min_value=Decimal("-1e10"), max_value=Decimal("1e10"), places=2),
    st.integers(0, 4),
)
def test_decimal_encoding_is_scale_independent(value: Decimal, extra: int) -> None:
    rescaled = value.quantize(Decimal(1).scaleb(-(2 + extra)))
    assert encode_value(value) == encode_value(rescaled)
    assert Decimal(str(encode_value(value))) == value
