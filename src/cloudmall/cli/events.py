"""`cloudmall events relay [--follow]`: the outbox's events published to the broker by a command
(a server process relays them by itself; a function runtime has no process that stays)."""

from __future__ import annotations

from typing import Annotated

import typer

from cloudmall.cli.runner import console, fail, load_settings, open_shop, run, stop_on_signals
from cloudmall.services.follow_loop import Backoff
from cloudmall.services.relay import (
    BROKER_CONSUMER,
    RELAY_MAX_DELAY_SECONDS,
    Relay,
    RelayResult,
)
from cloudmall.services.shop import Shop

events_app = typer.Typer(
    help="Events: publish the outbox's events to the broker (docs/events.md).",
    no_args_is_help=True,
)


def _said(result: RelayResult) -> str:
    return (
        f"published {result.events} events in {result.batches} batches; "
        f"{result.purged} left the outbox"
    )


def _relay(shop: Shop) -> Relay:
    relay = shop.tiers["relay"]
    assert isinstance(relay, Relay)
    return relay


async def _follow(interval: float) -> None:
    async with open_shop(load_settings()) as shop:
        relay = _relay(shop)
        stop = stop_on_signals()
        await relay.follow(
            backoff=Backoff(interval=interval, max_delay=RELAY_MAX_DELAY_SECONDS),
            stop=stop,
            report=lambda r: console.print(_said(r)),
        )


async def _relay_once() -> RelayResult:
    async with open_shop(load_settings()) as shop:
        return await _relay(shop).run_once()


@events_app.command("relay")
def relay(
    follow: Annotated[
        bool, typer.Option("--follow", help="keep publishing new events until stopped")
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, help="seconds between rounds with --follow"),
    ] = 1.0,
) -> None:
    """Publish every event waiting in the outbox to the broker (CLOUDMALL_BROKER_URL); safe to
    rerun and to run beside a server (an event may be published twice, with the same id)."""
    if BROKER_CONSUMER not in load_settings().outbox_consumers:
        raise fail(
            "no relay: add `broker` to CLOUDMALL_OUTBOX_CONSUMERS and set CLOUDMALL_BROKER_URL"
        )
    if follow:
        run(_follow(interval))
        return
    console.print(_said(run(_relay_once())))
