"""A server process with the `broker` reader relays by itself: a customer's sign-up (through the
API) reaches the broker's stream as its event, and leaves the outbox once every reader is done."""

from __future__ import annotations

import json
import time
from pathlib import Path

from redis import Redis

from cloudmall.adapters.db.tables import outbox_events
from tests.conftest import shop_env
from tests.e2e.client import sign_up
from tests.reliability.conftest import database
from tests.support import REDIS_URL, redis_url, scratch_database, start_server, stop_server

STREAM = "cloudmall:events"


def signed_up_users(redis: Redis, stream: str) -> list[int]:
    return [
        json.loads(fields[b"envelope"])["payload"]["user_id"]
        for _, fields in redis.xrange(stream)
        if fields[b"type"] == b"user.signed_up"
    ]


def test_a_server_relays_a_sign_up_to_the_stream(tmp_path: Path) -> None:
    broker_url = redis_url()
    prefix = broker_url.split("prefix=")[1]
    with scratch_database("sqlite", tmp_path) as url, Redis.from_url(REDIS_URL) as redis:
        env = shop_env(
            url,
            tmp_path,
            CLOUDMALL_OUTBOX_CONSUMERS="broker",
            CLOUDMALL_BROKER_URL=broker_url,
            CLOUDMALL_BROKER_POLL_SECONDS="0.2",
        )
        server = start_server(env, tmp_path)
        try:
            user_id = sign_up(server).user["id"]
            deadline = time.monotonic() + 30
            while user_id not in (signed_up := signed_up_users(redis, prefix + STREAM)):
                assert time.monotonic() < deadline, (signed_up, server.log())
                time.sleep(0.2)
        finally:
            stop_server(server)
            for key in redis.scan_iter(f"{prefix}*"):
                redis.delete(key)
        with database(url) as engine, engine.connect() as conn:
            left = conn.execute(outbox_events.select()).all()
        assert left == []  # the relay was the only reader: every relayed event was purged
