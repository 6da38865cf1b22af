"""A consuming service for the broker tests, as a process of its own: one member of a consumer
group whose handler records each event it handles in `test_handled` (a table the test made, no
unique key: an event handled twice shows as two rows), in the unit of work of the inbox.

    python -m tests.reliability.event_worker DATABASE_URL BROKER_URL STREAM GROUP MEMBER
        [--kill-before-ack] [--poison EVENT_ID] [--max-deliveries N] [--visibility S]
        [--barrier DIR --members N] [--handle-seconds S] [--idle S]

It handles messages until none came for `--idle` seconds, then prints its counts as JSON.
`--kill-before-ack` SIGKILLs the process at its first acknowledgement (after the commit);
`--poison` makes the handler fail for that event; `--barrier` waits until `--members` workers
reached it (they start reading together); `--handle-seconds` makes each event take that long.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text

from cloudmall.adapters.broker.redis_streams import RedisStreamsBroker
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from cloudmall.domain.events import Event
from cloudmall.services.event_consumer import ConsumeResult, EventConsumer
from cloudmall.services.ports import UnitOfWork

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS test_handled (event_id VARCHAR(36) NOT NULL, member VARCHAR(32))"
)


class KillAtAck(RedisStreamsBroker):
    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def meet(barrier: Path, member: str, members: int) -> None:
    """Wait until `members` workers (this one included) have reached the barrier folder."""
    (barrier / member).touch()
    while len(list(barrier.iterdir())) < members:
        time.sleep(0.01)


async def main(args: argparse.Namespace) -> ConsumeResult:
    engine = create_engine(args.database_url)
    broker_type = KillAtAck if args.kill_before_ack else RedisStreamsBroker
    broker = broker_type(args.broker_url)

    async def record(event: Event, tx: UnitOfWork) -> None:
        if event.id == args.poison:
            raise ValueError("this test's poison event")
        await asyncio.sleep(args.handle_seconds)
        assert isinstance(tx, SqlUnitOfWork)
        await tx._conn.execute(  # a test's own table, beside the inbox
            text("INSERT INTO test_handled (event_id, member) VALUES (:e, :m)"),
            {"e": event.id, "m": args.member},
        )

    consumer = EventConsumer(
        uow=SqlUnitOfWorkFactory(engine),
        broker=broker,
        stream=args.stream,
        group=args.group,
        member=args.member,
        handler=record,
        max_deliveries=args.max_deliveries,
        visibility_seconds=args.visibility,
        batch_size=10,
    )
    total = ConsumeResult()
    quiet_since = time.monotonic()
    try:
        while time.monotonic() - quiet_since < args.idle:
            result = await consumer.run_once(block_seconds=0.1)
            for name in ("handled", "skipped", "failed", "parked"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
            if result.handled or result.skipped or result.failed or result.parked:
                quiet_since = time.monotonic()
    finally:
        await broker.aclose()
        await engine.dispose()
    return total


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("database_url", "broker_url", "stream", "group", "member"):
        parser.add_argument(name)
    parser.add_argument("--kill-before-ack", action="store_true")
    parser.add_argument("--poison", default="")
    parser.add_argument("--max-deliveries", type=int, default=5)
    parser.add_argument("--visibility", type=float, default=30.0)
    parser.add_argument("--barrier", default="")
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--handle-seconds", type=float, default=0.0)
    parser.add_argument("--idle", type=float, default=2.0)
    arguments = parser.parse_args()
    if arguments.barrier:
        meet(Path(arguments.barrier), arguments.member, arguments.members)
    print(json.dumps(dataclasses.asdict(asyncio.run(main(arguments)))))
