"""UTCDateTime binds every aware timestamp as the same instant in naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.dialects import mysql

from cloudmall.adapters.db.tables import UTCDateTime

NAIVE_UTC = datetime(2026, 12, 3, 8, 30, 15, 123456)


def bound(value: datetime | None) -> datetime | None:
    return UTCDateTime().process_bind_param(value, mysql.dialect())


def test_utc_other_zones_and_naive_values_bind_as_naive_utc() -> None:
    seoul = timezone(timedelta(hours=9))
    assert bound(NAIVE_UTC.replace(tzinfo=UTC)) == NAIVE_UTC
    assert bound(NAIVE_UTC.replace(tzinfo=timezone.utc)) == NAIVE_UTC  # noqa: UP017 (the same)
    assert bound((NAIVE_UTC + timedelta(hours=9)).replace(tzinfo=seoul)) == NAIVE_UTC
    assert bound(NAIVE_UTC) == NAIVE_UTC  # naive: taken as UTC already
    assert bound(None) is None
    assert all(bound(NAIVE_UTC.replace(tzinfo=tz)).tzinfo is None for tz in (UTC, seoul))  # type: ignore[union-attr]
