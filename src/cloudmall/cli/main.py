"""The `cloudmall` command: serve, migrate, seed, admin, check, backup, cost, audit."""

from __future__ import annotations

import typer

from cloudmall.audit import cli as audit_cli
from cloudmall.cli import backup, shop
from cloudmall.cost import cli as cost_cli

app = typer.Typer(help="cloudmall: the guide's online shopping mall.", no_args_is_help=True)
app.command()(shop.migrate)
app.command()(shop.seed)
app.command()(shop.check)
app.command()(shop.serve)
app.add_typer(shop.admin_app, name="admin")
app.add_typer(cost_cli.app, name="cost")
app.add_typer(backup.backup_app, name="backup")
app.add_typer(audit_cli.app, name="audit")
