"""`cloudmall stock expire`: the stock reservations whose time is up, released by a command (a
server process sweeps by itself every 30 s; a function runtime runs this on a schedule)."""

from __future__ import annotations

import typer

from cloudmall.cli.runner import console, load_settings, open_shop, run
from cloudmall.services import commands as c

stock_app = typer.Typer(help="Stock: the products context's reservations.", no_args_is_help=True)


async def _expire() -> int:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.ExpireReservations())


@stock_app.command("expire")
def expire() -> None:
    """Release every stock reservation past its time (its units back to stock, once); safe to
    rerun and to run beside a server."""
    console.print(f"released {run(_expire())} expired reservations")
