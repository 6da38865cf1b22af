"""`cloudmall payments reconcile`: the payments left on their way (a payer cut off between its
charge and its capture) settled from the gateway's record, by a command (a server process
hosting the payments context reconciles by itself every 30 s)."""

from __future__ import annotations

import typer

from cloudmall.cli.runner import console, load_settings, open_shop, run
from cloudmall.services import commands as c

payments_app = typer.Typer(help="Payments: the payments context's intents.", no_args_is_help=True)


async def _reconcile() -> int:
    async with open_shop(load_settings()) as shop:
        return await shop.handle(c.ReconcilePayments())


@payments_app.command("reconcile")
def reconcile() -> None:
    """Settle every payment still pending or charged after CLOUDMALL_PAYMENT_GRACE_SECONDS:
    abandoned if the gateway made no charge, else captured (its order marked paid) or refunded
    (the order refused it); safe to rerun and to run beside a server."""
    console.print(f"settled {run(_reconcile())} payments")
