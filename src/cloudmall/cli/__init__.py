"""The `cloudmall` command: serve, migrate, seed, check, admin, mail, stock, payments, keys,
events, backup, cost, lake, audit, services, gateway.

Every command shares `cli.runner`: settings, the shop for one command, one-line errors.
"""

from __future__ import annotations

import typer

from cloudmall.audit import cli as audit_cli
from cloudmall.cli import (
    backup,
    cost,
    events,
    gateway,
    keys,
    lake,
    mail,
    payments,
    services,
    shop,
    stock,
)
from cloudmall.cli.help import hide_parameter_types

hide_parameter_types()
app = typer.Typer(help="cloudmall: the guide's online shopping mall.", no_args_is_help=True)
app.command()(shop.serve)  # first: what most people run
app.command()(shop.migrate)
app.command()(shop.seed)
app.command()(shop.check)
app.add_typer(shop.admin_app, name="admin")
app.add_typer(mail.mail_app, name="mail")
app.add_typer(stock.stock_app, name="stock")
app.add_typer(payments.payments_app, name="payments")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(events.events_app, name="events")
app.add_typer(cost.app, name="cost")
app.add_typer(backup.backup_app, name="backup")
app.add_typer(lake.lake_app, name="lake")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(services.services_app, name="services")
app.add_typer(gateway.gateway_app, name="gateway")
