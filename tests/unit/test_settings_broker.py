"""The `broker` outbox reader is opt-in: refused without a broker URL and on DynamoDB (no inbox
there); with both it is built (and started by a server process), without it there is no relay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from cloudmall.adapters.dynamodb.inbox import NoInbox
from cloudmall.bootstrap import build_broker, build_relay, build_shop
from cloudmall.config import Settings
from cloudmall.services.outbox_readers import BackgroundLoop
from cloudmall.services.relay import Relay

pytestmark = pytest.mark.anyio


def test_the_broker_reader_without_a_broker_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CLOUDMALL_BROKER_URL is not set"):
        Settings(var_dir=tmp_path, outbox_consumers="lake,mail,broker")


def test_an_unknown_outbox_reader_is_refused(tmp_path: Path) -> None:
    """A misspelt reader would never finish a batch: the outbox would keep every event."""
    with pytest.raises(ValidationError, match="unknown reader 'brokr'"):
        Settings(var_dir=tmp_path, outbox_consumers="lake,brokr")


def test_the_dynamodb_inbox_refuses_to_record() -> None:
    with pytest.raises(NotImplementedError, match="needs a SQL database"):
        asyncio.run(NoInbox().first_time("orders", "e-1"))


def test_the_broker_reader_on_dynamodb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs a SQL database"):
        Settings(
            var_dir=tmp_path,
            database_url="dynamodb://shop?region=ap-northeast-2",
            outbox_consumers="broker",
            broker_url="redis://127.0.0.1:6379/0",
        )


def test_a_broker_url_alone_builds_no_relay(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, broker_url="redis://127.0.0.1:6379/0")
    assert build_relay(settings, uow=None) is None  # type: ignore[arg-type]


def test_an_unknown_broker_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="use redis:// or rediss://"):
        build_broker("amqp://guest@127.0.0.1/", max_len=1_000)


async def test_a_server_with_the_broker_reader_relays_in_the_background(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        outbox_consumers="lake,mail,broker",
        broker_url="rediss://cache.example:6379/0?prefix=shop:",
        broker_stream="shop-events",
    )
    shop = build_shop(settings)
    try:
        relay = shop.tiers["relay"]
        assert isinstance(relay, Relay)
        assert (relay.stream, tuple(relay.consumers)) == ("shop-events", ("lake", "mail", "broker"))
        loops = [work for work in shop._background if isinstance(work, BackgroundLoop)]
        assert sorted(type(loop.reader).__name__ for loop in loops) == [
            "MailReader",
            "Relay",
            "StockSweeper",
        ]
    finally:
        await shop.aclose()
