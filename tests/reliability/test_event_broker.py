"""The event backbone end to end on real Redis and SQL, with real processes where one is killed:
every outbox event reaches the consuming group and is handled once (the inbox) — across a relay
SIGKILLed between publish and finish, a consumer SIGKILLed between commit and acknowledgement,
and two members sharing the work — and a poison message is parked after its last delivery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from redis import Redis
from sqlalchemy import text

from cloudmall.adapters.broker.redis_streams import RedisStreamsBroker
from cloudmall.adapters.db.engine import create_engine
from cloudmall.adapters.db.migrations import upgrade
from cloudmall.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from cloudmall.domain import events
from tests.conftest import shop_env
from tests.reliability.conftest import database
from tests.reliability.event_worker import CREATE_TABLE
from tests.support import REDIS_URL, REPO_ROOT, cli, redis_url, scratch_database

pytestmark = pytest.mark.anyio

STREAM = "cloudmall:events"
GROUP = "test-service"
EVENTS = 35
BATCH = 10


@pytest.fixture(params=["sqlite", "mariadb"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database with the test's table and EVENTS events in its outbox, and the
    settings of a shop that relays them to its own streams on the shared Redis."""
    broker_url = redis_url()
    with scratch_database(request.param, tmp_path) as url:
        anyio.run(upgrade, url)
        with database(url) as engine, engine.begin() as conn:
            conn.execute(text(CREATE_TABLE))
        anyio.run(add_events, url)
        try:
            yield shop_env(
                url,
                tmp_path,
                CLOUDMALL_OUTBOX_CONSUMERS="broker",
                CLOUDMALL_BROKER_URL=broker_url,
                CLOUDMALL_BROKER_BATCH_SIZE=str(BATCH),
            )
        finally:
            forget_streams(broker_url)


async def add_events(url: str) -> None:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(engine)(write=True) as tx:
            await tx.outbox.add(
                [events.new_event(events.ORDER_PAID, i, {"order_id": i}) for i in range(EVENTS)]
            )
            await tx.commit()
    finally:
        await engine.dispose()


def forget_streams(broker_url: str) -> None:
    prefix = broker_url.split("prefix=")[1]
    with Redis.from_url(REDIS_URL) as client:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def worker(env: dict[str, str], member: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.event_worker",
            env["CLOUDMALL_DATABASE_URL"],
            env["CLOUDMALL_BROKER_URL"],
            STREAM,
            GROUP,
            member,
            *options,
        ],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def handled(env: dict[str, str]) -> Counter[str]:
    with database(env["CLOUDMALL_DATABASE_URL"]) as engine, engine.connect() as conn:
        return Counter(
            row.event_id for row in conn.execute(text("SELECT event_id FROM test_handled"))
        )


def outbox_ids(env: dict[str, str]) -> set[str]:
    with database(env["CLOUDMALL_DATABASE_URL"]) as engine, engine.connect() as conn:
        return {row.event_id for row in conn.execute(text("SELECT event_id FROM outbox_events"))}


def stream_length(env: dict[str, str]) -> int:
    prefix = env["CLOUDMALL_BROKER_URL"].split("prefix=")[1]
    with Redis.from_url(REDIS_URL) as client:
        return int(client.xlen(prefix + STREAM))


def test_a_relay_killed_between_publish_and_finish_publishes_again_and_each_event_is_handled_once(
    shop: dict[str, str], tmp_path: Path
) -> None:
    ids = outbox_ids(shop)
    killed = subprocess.run(
        [sys.executable, "-m", "tests.reliability.killing_relay"],
        env={**os.environ, **shop},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    assert stream_length(shop) == BATCH  # published, never finished
    relayed = cli(shop, tmp_path, "events", "relay")
    assert relayed.returncode == 0, relayed.stderr
    assert f"published {EVENTS} events" in relayed.stdout
    assert stream_length(shop) == EVENTS + BATCH  # the first batch twice
    assert outbox_ids(shop) == set()  # every reader (the relay alone) finished: purged
    counts = finished(worker(shop, "a"))
    assert (counts["handled"], counts["skipped"]) == (EVENTS, BATCH)
    assert handled(shop) == Counter(dict.fromkeys(ids, 1))


def test_a_consumer_killed_after_commit_before_ack_skips_the_event_when_it_comes_again(
    shop: dict[str, str], tmp_path: Path
) -> None:
    ids = outbox_ids(shop)
    assert cli(shop, tmp_path, "events", "relay").returncode == 0
    dying = worker(shop, "a", "--kill-before-ack")
    dying.communicate(timeout=120)
    assert dying.returncode == -9
    assert sum(handled(shop).values()) == 1  # committed, never acknowledged
    counts = finished(worker(shop, "b", "--visibility", "0.5"))
    assert (counts["handled"], counts["skipped"]) == (EVENTS - 1, 1)
    assert handled(shop) == Counter(dict.fromkeys(ids, 1))


def test_two_members_of_a_group_share_the_events_and_handle_each_once(
    shop: dict[str, str], tmp_path: Path
) -> None:
    ids = outbox_ids(shop)
    assert cli(shop, tmp_path, "events", "relay").returncode == 0
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    together = ["--barrier", str(barrier), "--members", "2", "--handle-seconds", "0.05"]
    members = [worker(shop, name, *together) for name in ("a", "b")]
    counts = [finished(member) for member in members]
    assert sum(c["handled"] for c in counts) == EVENTS
    assert all(c["handled"] > 0 for c in counts), counts
    assert handled(shop) == Counter(dict.fromkeys(ids, 1))


async def test_a_poison_event_is_parked_in_the_dead_letters_after_its_last_delivery(
    shop: dict[str, str], tmp_path: Path
) -> None:
    ids = sorted(outbox_ids(shop))
    assert cli(shop, tmp_path, "events", "relay").returncode == 0
    member = worker(shop, "a", "--poison", ids[0], "--max-deliveries", "3", "--visibility", "0.2")
    counts = await anyio.to_thread.run_sync(finished, member)
    assert (counts["handled"], counts["failed"], counts["parked"]) == (EVENTS - 1, 2, 1)
    broker = RedisStreamsBroker(shop["CLOUDMALL_BROKER_URL"])
    try:
        parked = await broker.read_dead_letters(STREAM, 10)
    finally:
        await broker.aclose()
    assert [(group, error, event.id if event else None) for group, error, event in parked] == [
        (GROUP, "ValueError: this test's poison event", ids[0])
    ]
    assert ids[0] not in handled(shop)
