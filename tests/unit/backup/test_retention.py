"""The prune rule: newest of each of the last N days with backups, newest of the last M weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudmall.domain.errors import InvalidInput
from cloudmall.services.backup import retained


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_keeps_the_newest_of_each_recent_day() -> None:
    backups = [
        ("mon-early", at("2025-03-03 01:00")),
        ("mon-late", at("2025-03-03 23:00")),
        ("tue", at("2025-03-04 02:00")),
        ("thu", at("2025-03-06 02:00")),  # Wednesday has no backup: it does not count
    ]
    assert retained(backups, keep_daily=3, keep_weekly=0) == {"thu", "tue", "mon-late"}
    assert retained(backups, keep_daily=1, keep_weekly=0) == {"thu"}


def test_weeks_are_iso_weeks_and_add_to_the_days() -> None:
    backups = [
        ("w08-sun", at("2025-02-23 02:00")),  # ISO week 8 ends on Sunday
        ("w09-mon", at("2025-02-24 02:00")),
        ("w09-fri", at("2025-02-28 02:00")),
        ("w10-mon", at("2025-03-03 02:00")),
        ("w10-tue", at("2025-03-04 02:00")),
    ]
    assert retained(backups, keep_daily=0, keep_weekly=2) == {"w10-tue", "w09-fri"}
    assert retained(backups, keep_daily=2, keep_weekly=3) == {
        "w10-tue",
        "w10-mon",
        "w09-fri",
        "w08-sun",
    }


def test_days_are_utc_days() -> None:
    seoul = datetime.fromisoformat("2025-03-04 08:00+09:00")  # 2025-03-03 23:00 UTC
    backups = [("late", seoul), ("early", at("2025-03-03 01:00"))]
    assert retained(backups, keep_daily=1, keep_weekly=0) == {"late"}


def test_year_boundary_uses_iso_years() -> None:
    backups = [("a", at("2024-12-30 02:00")), ("b", at("2025-01-02 02:00"))]  # both 2025-W01
    assert retained(backups, keep_daily=0, keep_weekly=5) == {"b"}


def test_negative_counts_are_refused() -> None:
    with pytest.raises(InvalidInput):
        retained([], keep_daily=-1, keep_weekly=0)


times = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
)


@given(
    st.lists(times, min_size=1, max_size=40, unique=True),
    st.integers(0, 10),
    st.integers(0, 10),
)
def test_rule_properties(moments: list[datetime], days: int, weeks: int) -> None:
    backups = [(f"b{i}", moment) for i, moment in enumerate(moments)]
    keep = retained(backups, keep_daily=days, keep_weekly=weeks)
    by_id = dict(backups)
    assert len(keep) <= days + weeks
    newest = max(backups, key=lambda b: b[1])[0]
    assert (newest in keep) == (days + weeks > 0)
    for kept in keep:  # only ever the newest backup of its day or of its week
        moment = by_id[kept]
        same_day = [m for m in moments if m.date() == moment.date()]
        same_week = [m for m in moments if m.isocalendar()[:2] == moment.isocalendar()[:2]]
        assert moment == max(same_day) or moment == max(same_week)
    distinct_days = sorted({m.date() for m in moments}, reverse=True)
    for day in distinct_days[:days]:  # every one of the last N days keeps its newest
        newest_of_day = max(m for m in moments if m.date() == day)
        assert any(by_id[k] == newest_of_day for k in keep)


def test_a_long_daily_history() -> None:
    start = at("2025-01-01 02:00")
    backups = [(f"d{i:03d}", start + timedelta(days=i)) for i in range(120)]
    keep = retained(backups, keep_daily=7, keep_weekly=4)
    # d119 is Wednesday 2025-04-30. Daily: d113..d119 (Thu 24 April to Wed 30 April). Weekly,
    # the last 4 ISO weeks count from the newest, overlapping the dailies: W18 (d119) and
    # W17 (Sun d116) are already kept; W16 adds Sun d109 and W15 Sun d102.
    assert keep == {f"d{i:03d}" for i in range(113, 120)} | {"d109", "d102"}
