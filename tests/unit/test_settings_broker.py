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
from cloudmall.services.event_groups import GroupLoop
from cloudmall.services.mail_group import MailGroup
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


async def test_a_broker_url_alone_builds_no_relay_in_the_monolith(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, broker_url="redis://127.0.0.1:6379/0")
    assert "broker" not in settings.outbox_consumers
    assert build_relay(settings, uow=None, broker=None) is None  # type: ignore[arg-type]
    shop = build_shop(settings)
    try:
        assert "relay" not in shop.tiers
        assert not [w for w in shop._background if isinstance(w.reader, GroupLoop)]  # type: ignore[attr-defined]
    finally:
        await shop.aclose()


def service_settings(tmp_path: Path, service: str, **extra: str) -> Settings:
    peers = {
        "users_url": "http://127.0.0.1:8101",
        "products_url": "http://127.0.0.1:8102",
        "orders_url": "http://127.0.0.1:8103",
        "payments_url": "http://127.0.0.1:8104",
    }
    return Settings(var_dir=tmp_path, service=service, **peers, **extra)  # type: ignore[arg-type]


def test_a_service_in_production_needs_a_broker(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CLOUDMALL_BROKER_URL must be set in production"):
        service_settings(
            tmp_path,
            "orders",
            environment="production",
            secret_key="k" * 64,
            internal_secret="s" * 32,
            token_algorithm="HS256",
        )


def test_a_service_with_a_broker_relays_its_outbox(tmp_path: Path) -> None:
    """And the users service publishes changed accounts to the access board (`access`)."""
    settings = service_settings(tmp_path, "users", broker_url="redis://127.0.0.1:6379/0")
    assert settings.outbox_consumers == ["lake", "mail", "broker", "access"]
    assert service_settings(tmp_path, "users").outbox_consumers == ["lake", "mail"]
    orders = service_settings(tmp_path, "orders", broker_url="redis://127.0.0.1:6379/0")
    assert orders.outbox_consumers == ["lake", "broker"]


def test_the_access_reader_needs_the_brokers_redis(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="names `access` but CLOUDMALL_BROKER_URL"):
        Settings(var_dir=tmp_path, outbox_consumers="lake,access")


@pytest.mark.parametrize(
    ("service", "kept"),
    [
        ("users", ["lake", "mail"]),
        ("products", ["lake", "stock"]),
        ("orders", ["lake", "orders"]),
        ("payments", ["lake"]),
    ],
)
def test_a_service_keeps_only_the_outbox_readers_that_run_in_it(
    tmp_path: Path, service: str, kept: list[str]
) -> None:
    """A reader whose tables are another context's never runs there: left in, it would keep
    every event in that service's outbox for ever."""
    readers = "lake,mail,stock,orders"
    settings = service_settings(tmp_path, service, outbox_consumers=readers)
    if service != "users":  # the users service's own reader, left out elsewhere
        broker = "redis://127.0.0.1:6379/0"
        named = service_settings(
            tmp_path, service, outbox_consumers=f"{readers},access", broker_url=broker
        )
        assert named.outbox_consumers == [*kept, "broker"]
    assert settings.outbox_consumers == kept
    assert Settings(var_dir=tmp_path, outbox_consumers=readers).outbox_consumers == [
        "lake",
        "mail",
        "stock",
        "orders",
    ]


@pytest.mark.parametrize(
    ("service", "group", "types"),
    [
        ("products", "products", {"order.cancelled"}),
        ("orders", "orders", {"stock.reservation_expired"}),
        ("users", None, None),
        ("payments", None, None),
    ],
)
async def test_each_service_relays_and_consumes_what_its_context_needs(
    tmp_path: Path, service: str, group: str | None, types: set[str] | None
) -> None:
    settings = service_settings(
        tmp_path, service, broker_url="redis://127.0.0.1:6379/0", broker_visibility_seconds="7"
    )
    shop = build_shop(settings)
    try:
        readers = [w.reader for w in shop._background if isinstance(w, BackgroundLoop)]
        assert sum(isinstance(reader, Relay) for reader in readers) == 1
        consumers = [reader.consumer for reader in readers if isinstance(reader, GroupLoop)]
        if group is None:
            assert consumers == []
            return
        [consumer] = consumers
        assert (consumer.group, consumer.types) == (group, types)
        assert consumer.visibility_seconds == 7
        assert consumer.broker is shop.tiers["relay"].broker  # type: ignore[attr-defined]
    finally:
        await shop.aclose()


@pytest.mark.parametrize(
    ("service", "readers", "mails"),
    [("users", "lake,mail", True), ("users", "lake", False), ("orders", "lake,mail", False)],
)
async def test_the_users_service_mails_the_other_services_events_from_the_broker(
    tmp_path: Path, service: str, readers: str, mails: bool
) -> None:
    settings = service_settings(
        tmp_path,
        service,
        broker_url="redis://127.0.0.1:6379/0",
        broker_visibility_seconds="7",
        outbox_consumers=readers,
    )
    shop = build_shop(settings)
    try:
        loops = [w.reader for w in shop._background if isinstance(w, BackgroundLoop)]
        groups = [loop for loop in loops if isinstance(loop, MailGroup)]
        assert len(groups) == mails
        for group in groups:
            assert (group.group, group.visibility_seconds) == ("users", 7)
            assert group.types == {"order.placed", "order.shipped", "payment.refunded"}
            assert group.broker is shop.tiers["relay"].broker  # type: ignore[attr-defined]
            assert group.mailer is shop.tiers["mailer"]
            assert not group.mailer.orders_here  # its database holds no orders
    finally:
        await shop.aclose()
    monolith = build_shop(Settings(var_dir=tmp_path / "monolith"))
    try:
        assert monolith.tiers["mailer"].orders_here  # type: ignore[attr-defined]
    finally:
        await monolith.aclose()


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
            "PaymentReconciler",
            "Relay",
            "StockSweeper",
        ]
    finally:
        await shop.aclose()
