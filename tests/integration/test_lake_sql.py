"""The report's SQL on real engines: DuckDB over Parquet written by the lake's writer (a local
folder and S3), and Trino's dialect (Athena's) as sqlglot parses it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from cloudmall.adapters.lake.duckdb_queries import DuckDbLakeQueries
from cloudmall.adapters.lake.parquet import ParquetEventLake, batch_files
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.adapters.storage.s3 import S3ObjectStore
from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services import lake
from cloudmall.services.lake_sql import REPORT_QUERIES
from cloudmall.services.ports import LakeQueryError
from tests.support import S3_ENV, Service, new_bucket

pytestmark = pytest.mark.anyio

DAY1 = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
DAY2 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
SPAN = lake.ReportSpan.of(DAY1.date(), DAY2.date())


def at(event: Event, when: datetime) -> Event:
    return Event(
        type=event.type,
        version=event.version,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        payload=event.payload,
        occurred_at=when,
        id=event.id,
    )


def placed(order_id: int, when: datetime, *lines: tuple[int, int, str]) -> Event:
    amount = sum(Decimal(price) * quantity for _, quantity, price in lines)
    payload = {
        "order_id": order_id,
        "user_id": 1,
        "amount": f"{amount:.2f}",
        "lines": [
            {"product_id": pid, "product_name": f"P{pid}", "quantity": q, "unit_price": price}
            for pid, q, price in lines
        ],
    }
    return at(events.new_event(events.ORDER_PLACED, order_id, payload), when)


def moved(kind: events.EventType, order_id: int, when: datetime, **extra: object) -> Event:
    return at(events.new_event(kind, order_id, {"order_id": order_id, **extra}), when)


def shop_history() -> list[Event]:
    """Three orders on day 1 (one paid then shipped, one cancelled, one pending), one paid on
    day 2; a declined and two captured payments, a charge refunded; stock out and back."""
    return [
        placed(1, DAY1, (10, 2, "20.00"), (11, 1, "5.00")),
        moved(events.PAYMENT_DECLINED, 1, DAY1, amount="45.00", reason="card_declined"),
        moved(events.PAYMENT_CAPTURED, 1, DAY1, amount="45.00"),
        moved(events.ORDER_PAID, 1, DAY1, amount="45.00"),
        moved(events.ORDER_SHIPPED, 1, DAY2, amount="45.00"),
        placed(2, DAY1, (10, 1, "20.00")),
        moved(events.ORDER_CANCELLED, 2, DAY2, amount="20.00"),
        moved(events.PAYMENT_REFUNDED, 2, DAY2, amount="20.00", reason="order_not_pending"),
        placed(3, DAY1, (11, 4, "5.01")),
        placed(4, DAY2, (11, 10, "5.01")),
        moved(events.PAYMENT_CAPTURED, 4, DAY2, amount="50.10"),
        moved(events.ORDER_PAID, 4, DAY2, amount="50.10"),
        at(events.stock_changed(10, delta=-3, stock=7, reason="order", order_id=1), DAY1),
        at(events.stock_changed(10, delta=1, stock=8, reason="cancel", order_id=2), DAY2),
    ]


def rows(result: object) -> list[tuple[object, ...]]:
    return result.rows  # type: ignore[attr-defined, no-any-return]


async def check_report(queries: DuckDbLakeQueries) -> None:
    report = await lake.report(queries=queries, span=SPAN)
    sections = report.sections
    assert rows(sections["daily"]) == [
        ("2026-11-30", 3, 1, Decimal("45.00"), 1),
        ("2026-12-01", 1, 1, Decimal("50.10"), 0),
    ]
    assert rows(sections["statuses"]) == [
        ("cancelled", 1, Decimal("20.00")),
        ("paid", 1, Decimal("50.10")),
        ("pending", 1, Decimal("20.04")),
        ("shipped", 1, Decimal("45.00")),
    ]
    assert report.headline == lake.Headline(
        orders=4,
        paid_orders=2,
        revenue=Decimal("95.10"),
        average_order_value=Decimal("47.55"),
        cancellation_rate=0.25,
        payment_decline_rate=1 / 3,
    )
    assert rows(sections["top_by_units"]) == [
        (11, "P11", 11, Decimal("55.10")),
        (10, "P10", 2, Decimal("40.00")),
    ]
    assert [row[0] for row in rows(sections["top_by_revenue"])] == [11, 10]
    assert rows(sections["payments"]) == [(2, 1, 1, Decimal("20.00"), 1 / 3)]
    assert rows(sections["stock_movements"]) == [
        ("2026-11-30", "order", 1, 0, 3),
        ("2026-12-01", "cancel", 1, 1, 0),
    ]
    only_day2 = await lake.report(queries=queries, span=lake.ReportSpan.of(DAY2.date(), None))
    assert only_day2.headline.orders == 1


@pytest.mark.parametrize("name", sorted(REPORT_QUERIES))
def test_each_report_query_is_trino_sql(name: str) -> None:
    (statement,) = sqlglot.parse(REPORT_QUERIES[name], read="trino", error_level=ErrorLevel.RAISE)
    assert statement is not None and statement.find(sqlglot.exp.Select) is not None
    # Two placeholders: the first and last day, as Athena's ExecutionParameters fill them.
    assert len(list(statement.find_all(sqlglot.exp.Placeholder))) == 2


async def test_the_report_on_parquet_in_a_local_folder(tmp_path: Path) -> None:
    history = shop_history()
    writer = ParquetEventLake(LocalObjectStore(tmp_path))
    await writer.write("000000000001-a", history[:6])
    await writer.write("000000000007-b", history[6:])
    # The same events exported again under another batch (a restore's replay) count once.
    await writer.write("000000000099-c", history)
    cancelled = tmp_path / "events/type=order.cancelled/dt=2026-12-01"
    assert sorted(path.name for path in cancelled.glob("*.parquet")) == [
        "part-000000000007-b.parquet",
        "part-000000000099-c.parquet",
    ]
    await check_report(DuckDbLakeQueries(f"file://{tmp_path}"))


async def test_the_report_on_parquet_on_s3(moto: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    url = new_bucket(moto)
    history = shop_history()
    await ParquetEventLake(S3ObjectStore(url)).write("000000000001-a", history)
    await check_report(DuckDbLakeQueries(url))


async def test_an_empty_lake_answers_zero(tmp_path: Path) -> None:
    report = await lake.report(queries=DuckDbLakeQueries(f"file://{tmp_path}/none"), span=SPAN)
    assert (report.headline.orders, report.headline.revenue) == (0, Decimal("0.00"))


def test_a_batch_rewritten_is_the_same_bytes() -> None:
    history = shop_history()
    assert batch_files("b", history) == batch_files("b", history)


async def test_queries_see_the_lake_and_no_other_file(tmp_path: Path) -> None:
    queries = DuckDbLakeQueries(f"file://{tmp_path}")
    for statement in ("SELECT * FROM read_csv('/etc/passwd')", "COPY events TO '/tmp/x.csv'"):
        with pytest.raises(LakeQueryError, match="disabled"):
            await queries.query(statement)
    with pytest.raises(LakeQueryError, match="syntax"):
        await queries.query("SELEC 1")
