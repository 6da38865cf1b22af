"""The relay's benchmark: outbox events published to Redis Streams per second.

`python -m bench.broker --events 100000 [--database-url URL] [--batch 500]`. It runs the relay's
own code in-process (services.relay.Relay over the SQL outbox and the Redis Streams adapter), so
the figure is the relay's: claim a batch (one transaction), publish it (one pipelined round
trip of XADDs), finish it and purge (another transaction). The outbox is filled first (not timed)
in a scratch database (SQLite under var/bench-broker/ unless --database-url names an empty one),
the stream is a fresh key on CLOUDMALL_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0),
deleted afterwards. `--publish-only` times the adapter's publish alone (no database), for
comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import time
from pathlib import Path

from redis.asyncio import Redis

from cloudmall.adapters.broker.redis_streams import RedisStreamsBroker
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain import events
from cloudmall.services.relay import BROKER_CONSUMER, Relay

FILL_CHUNK = 10_000


async def fill(uow: SqlUnitOfWorkFactory, count: int) -> None:
    for start in range(0, count, FILL_CHUNK):
        made = [
            events.new_event(
                events.ORDER_PAID, i, {"order_id": i, "user_id": i % 5000, "amount": "12000.00"}
            )
            for i in range(start, min(count, start + FILL_CHUNK))
        ]
        async with uow(write=True) as tx:
            await tx.outbox.add(made)
            await tx.commit()


async def publish_only(count: int, batch: int) -> None:
    redis_url = os.environ.get("CLOUDMALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-{secrets.token_hex(4)}:"
    broker = RedisStreamsBroker(f"{redis_url}?prefix={prefix}", max_len=max(count, 1_000))
    made = [
        events.new_event(
            events.ORDER_PAID, i, {"order_id": i, "user_id": i % 5000, "amount": "12000.00"}
        )
        for i in range(count)
    ]
    try:
        started = time.perf_counter()
        for start in range(0, count, batch):
            await broker.publish("events", made[start : start + batch])
        seconds = time.perf_counter() - started
    finally:
        client = Redis.from_url(redis_url)
        await client.delete(prefix + "events")
        await client.aclose()
        await broker.aclose()
    print(
        f"publish only (batches of {batch}): {count} events, {seconds:.2f} s = "
        f"{count / seconds:,.0f} events/s"
    )


def scratch_sqlite() -> str:
    folder = Path("var/bench-broker")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return f"sqlite+aiosqlite:///{folder / 'outbox.db'}"


async def main(args: argparse.Namespace, database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    redis_url = os.environ.get("CLOUDMALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-{secrets.token_hex(4)}:"
    broker = RedisStreamsBroker(f"{redis_url}?prefix={prefix}", max_len=max(args.events, 1_000))
    try:
        uow = SqlUnitOfWorkFactory(engine)
        await fill(uow, args.events)
        relay = Relay(
            uow=uow, broker=broker, stream="events", batch_size=args.batch, consumers=("broker",)
        )
        started = time.perf_counter()
        result = await relay.run_once()
        seconds = time.perf_counter() - started
        client = Redis.from_url(redis_url)
        length = await client.xlen(prefix + "events")
        await client.delete(prefix + "events")
        await client.aclose()
        async with uow() as tx:
            left = await tx.outbox.backlog(BROKER_CONSUMER)
    finally:
        await broker.aclose()
        await engine.dispose()
    backend = database_url.split(":", 1)[0]
    print(
        f"relay ({backend}, batches of {args.batch}): {result.events} events in "
        f"{result.batches} batches, {seconds:.2f} s = {result.events / seconds:,.0f} events/s; "
        f"stream length {length}, {result.purged} purged, {left} left"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--publish-only", action="store_true")
    arguments = parser.parse_args()
    if arguments.publish_only:
        asyncio.run(publish_only(arguments.events, arguments.batch))
    else:
        asyncio.run(main(arguments, arguments.database_url or scratch_sqlite()))
