"""The data lake's benchmark: export throughput, report time over a million events, Parquet size.

`make bench-lake` (or `python -m bench.lake --events 1000000`). Unlike the HTTP benchmarks this
one runs the lake's own code in-process (the export's Exporter and the report's queries), so the
figures are the lake's and not a subprocess's start-up. It makes a scratch SQLite database and a
lake folder under var/bench-lake/ (removed first), fills the outbox with a realistic mix of
events spread over 30 days in time order, exports them, and runs the report three times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.adapters.lake.duckdb_queries import DuckDbLakeQueries
from cloudmall.adapters.lake.parquet import ParquetEventLake
from cloudmall.adapters.storage.local import LocalObjectStore
from cloudmall.domain import events
from cloudmall.domain.events import Event
from cloudmall.services import lake

DAYS = 30
PRODUCTS = 500
FILL_CHUNK = 20_000


def _at(event: Event, when: datetime) -> Event:
    return Event(
        type=event.type,
        version=event.version,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        payload=event.payload,
        occurred_at=when,
        id=event.id,
        request_id=event.request_id,
    )


def order_story(order_id: int, when: datetime, draw: random.Random) -> list[Event]:
    """One order's events: placed with its stock moves, then paid, cancelled or left."""
    lines = [
        (pid, draw.randint(1, 3), Decimal(draw.randint(500, 20_000)) / 100)
        for pid in draw.sample(range(1, PRODUCTS + 1), draw.randint(1, 3))
    ]
    amount = sum(price * quantity for _, quantity, price in lines)
    payload = {
        "order_id": order_id,
        "user_id": draw.randint(1, 50_000),
        "amount": f"{amount:.2f}",
        "lines": [
            {"product_id": p, "product_name": f"Product {p}", "quantity": q, "unit_price": f"{u}"}
            for p, q, u in lines
        ],
    }
    story = [events.new_event(events.ORDER_PLACED, order_id, payload, request_id="bench")]
    story += [
        events.stock_changed(
            p, delta=-q, stock=draw.randint(0, 999), reason="order", order_id=order_id
        )
        for p, q, _ in lines
    ]
    money = {"order_id": order_id, "amount": f"{amount:.2f}"}
    roll = draw.random()
    if roll < 0.1:
        story.append(events.new_event(events.PAYMENT_DECLINED, order_id, {**money, "reason": "x"}))
    if roll < 0.75:
        story.append(events.new_event(events.PAYMENT_CAPTURED, order_id, money))
        story.append(events.new_event(events.ORDER_PAID, order_id, money))
    elif roll < 0.9:
        story.append(events.new_event(events.ORDER_CANCELLED, order_id, money))
        story += [
            events.stock_changed(p, delta=q, stock=draw.randint(1, 999), reason="cancel")
            for p, q, _ in lines
        ]
    return [_at(event, when) for event in story]


def generated(count: int, start: datetime) -> list[Event]:
    """At least `count` events from whole orders, in time order over DAYS days."""
    draw = random.Random(20)
    made: list[Event] = []
    order_id = 0
    step = timedelta(days=DAYS) / max(1, count // 5)
    when = start
    while len(made) < count:
        order_id += 1
        when += step
        made += order_story(order_id, when, draw)
    return made[:count] if len(made) > count else made


async def fill(uow: SqlUnitOfWorkFactory, made: list[Event]) -> float:
    started = time.perf_counter()
    for first in range(0, len(made), FILL_CHUNK):
        async with uow(write=True) as tx:
            await tx.outbox.add(made[first : first + FILL_CHUNK])
            await tx.commit()
    return time.perf_counter() - started


def folder_size(root: Path) -> tuple[int, int]:
    files = list(root.rglob("*.parquet"))
    return len(files), sum(path.stat().st_size for path in files)


def fresh_folder(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)


async def main(count: int, batch: int, root: Path, *, report_only: bool) -> None:
    if report_only:
        await report_times(root, datetime.now(UTC) - timedelta(days=DAYS + 1))
        return
    fresh_folder(root)
    url = f"sqlite+aiosqlite:///{root / 'bench.db'}"
    await upgrade(url)
    engine = create_engine(url)
    uow = SqlUnitOfWorkFactory(engine)
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=DAYS)
    made = generated(count, start)
    orders = len({e.aggregate_id for e in made if e.type == "order.placed"})
    print(f"events: {len(made):,} ({orders:,} orders over {DAYS} days)")
    print(f"outbox filled in {await fill(uow, made):.1f} s")

    store = LocalObjectStore(root / "lake")
    exporter = lake.Exporter(
        uow=uow, lake=ParquetEventLake(store), batch_size=batch, consumers=("lake",)
    )
    started = time.perf_counter()
    result = await exporter.run_once()
    seconds = time.perf_counter() - started
    files, size = folder_size(root / "lake")
    print(
        f"export: {result.events:,} events in {seconds:.1f} s = "
        f"{result.events / seconds:,.0f} events/s "
        f"(batch {batch:,}: {result.batches} batches, {result.files:,} files)"
    )
    payloads = sum(len(str(e.payload)) for e in made) / len(made)
    print(
        f"parquet: {files:,} files, {size / 1e6:.1f} MB = {size / len(made):.1f} bytes/event "
        f"(the events' JSON payloads alone: {payloads:.0f} bytes/event)"
    )
    await engine.dispose()

    await report_times(root, start)


async def report_times(root: Path, start: datetime) -> None:
    """The whole report, three times: wall time (other work shares the machine) and the CPU
    seconds it took (all of DuckDB's threads), with the load average for context."""
    queries = DuckDbLakeQueries(f"file://{(root / 'lake').resolve()}")
    span = lake.ReportSpan.of(start.date(), (start + timedelta(days=DAYS + 1)).date())
    for attempt in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        report = await lake.report(queries=queries, span=span)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        figures = report.headline
        print(
            f"report {attempt + 1}: {took:.2f} s wall, {cpu:.2f} s CPU (7 queries; "
            f"{figures.orders:,} orders, revenue {figures.revenue}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="the export's batch size")
    parser.add_argument("--root", type=Path, default=Path("var/bench-lake"))
    parser.add_argument(
        "--report-only", action="store_true", help="only time the report on the lake made before"
    )
    options = parser.parse_args()
    asyncio.run(main(options.events, options.batch, options.root, report_only=options.report_only))
