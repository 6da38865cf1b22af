"""The shop's own commands: serve, migrate, seed, admin create | reset-password | demote, check."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
from typing import Annotated

import typer
from rich.progress import Progress

from cloudmall.bootstrap import migrate as migrate_database
from cloudmall.cli.runner import console, err, fail, load_settings, open_shop, run
from cloudmall.config import HttpServer, Runtime, ServiceName, Settings
from cloudmall.demo import load_demo_catalogue
from cloudmall.domain.users import Role
from cloudmall.services.accounts import AdminAccount
from cloudmall.services.commands import (
    ChangeRoleByEmail,
    CheckTiers,
    CountShop,
    MakeAdmin,
    SetInitialPassword,
)
from cloudmall.services.health import TierStatus
from cloudmall.services.shop import Shop
from cloudmall.web.server import APP, FUNCTION_APP
from cloudmall.web.server import serve as run_server

admin_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)

DEMO_ADMIN_EMAIL = "admin@cloudmall.example"


def migrate() -> None:
    """Apply the database migrations (creates the schema on an empty database)."""
    run(migrate_database(load_settings()))
    console.print("database schema is up to date")


async def _seed(shop: Shop, count: int) -> int:
    existing = (await shop.handle(CountShop(users=False))).products
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("drawing and adding products", total=count)
        return await load_demo_catalogue(
            shop, count, start=existing + 1, on_progress=lambda: progress.advance(task)
        )


async def _migrate_and_seed(settings: Settings, count: int) -> int:
    await migrate_database(settings)
    async with open_shop(settings) as shop:
        return await _seed(shop, count)


def seed(
    products: Annotated[
        int | None,
        typer.Option(
            "--products",
            min=1,
            max=100_000,
            help="how many (default: CLOUDMALL_DEMO_PRODUCTS, as `serve` adds to an empty shop)",
        ),
    ] = None,
) -> None:
    """Add demo products with locally drawn pictures."""
    settings = load_settings()
    added = run(_migrate_and_seed(settings, products or settings.demo_products))
    console.print(f"added {added} products")


EmailArgument = Annotated[str, typer.Argument(help="the account's email")]


def one_time_password() -> str:
    """A password the shop makes up and prints once: it must be changed at the first log-in."""
    return secrets.token_urlsafe(12)


async def _make_admin(settings: Settings, command: MakeAdmin) -> AdminAccount:
    await migrate_database(settings)
    async with open_shop(settings) as shop:
        return await shop.handle(command)


@admin_app.command("create")
def admin_create(
    email: EmailArgument,
    name: Annotated[str, typer.Option(help="display name")] = "Shop admin",
    password: Annotated[
        str | None,
        typer.Option(
            help="the password (kept as given); default: a one-time password, printed once, "
            "to be changed at the first log-in",
            envvar="CLOUDMALL_ADMIN_PASSWORD",
        ),
    ] = None,
) -> None:
    """Create a staff account (or promote an existing account to staff, its password unchanged)."""
    chosen = password or one_time_password()
    command = MakeAdmin(email=email, password=chosen, name=name, temporary=password is None)
    account = run(_make_admin(load_settings(), command))
    if not account.created:
        console.print(f"{email} is staff now; its password is unchanged")
        console.print(f"a new one-time password: cloudmall admin reset-password {email}")
        return
    console.print(f"admin account ready: {email}")
    if password is None:
        console.print(
            f"one-time password (shown only now, change it at the first log-in): [bold]{chosen}[/]"
        )


async def _set_initial_password(settings: Settings, command: SetInitialPassword) -> None:
    async with open_shop(settings) as shop:
        await shop.handle(command)


@admin_app.command("reset-password")
def admin_reset_password(email: EmailArgument) -> None:
    """Give an account a new one-time password (printed once): its sessions end, and it must be
    changed at the next log-in."""
    chosen = one_time_password()
    run(_set_initial_password(load_settings(), SetInitialPassword(email=email, password=chosen)))
    console.print(
        f"one-time password for {email} (shown only now, change it at the next "
        f"log-in): [bold]{chosen}[/]"
    )


async def _demote(settings: Settings, email: str) -> None:
    async with open_shop(settings) as shop:
        await shop.handle(ChangeRoleByEmail(email=email, role=Role.CUSTOMER))


@admin_app.command("demote")
def admin_demote(email: EmailArgument) -> None:
    """Make a staff account a customer again; its tokens lose staff rights at once."""
    run(_demote(load_settings(), email))
    console.print(f"{email} is a customer now")


async def _check(settings: Settings) -> list[TierStatus]:
    async with open_shop(settings) as shop:
        return await shop.handle(CheckTiers())


def check() -> None:
    """Check each tier (database, migrations, cache, object store); exit 1 if any fails."""
    tiers = run(_check(load_settings()))
    for tier in tiers:
        mark = (
            "[green]ok[/]  "
            if tier.ok
            else ("[red]FAIL[/]" if tier.required else "[yellow]WARN[/]")
        )
        console.print(f"{mark} {tier.name:<13} {tier.detail}", soft_wrap=True)
    failing = [tier for tier in tiers if not tier.ok]
    for tier in failing:
        err.print(f"{tier.name}: {tier.detail}", soft_wrap=True, highlight=False)
    if failing:
        raise typer.Exit(code=1)


def _port_free(host: str, port: int) -> bool:
    """Whether a process listens there, asked the way the server binds: with SO_REUSEADDR, so
    the last connections of a stopped server (TIME_WAIT) do not count."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def _prepare(settings: Settings, *, demo: bool) -> str | None:
    """Migrate; an empty shop gets the demo catalogue and an admin, whose one-time password is
    returned. A service of the services topology gets its context's share: the products
    service the catalogue, the users service the admin."""
    await migrate_database(settings)
    async with open_shop(settings) as shop:
        if not demo:
            return None
        if settings.service is None:
            size = await shop.handle(CountShop())
            catalogue = accounts = size.empty
        elif settings.service is ServiceName.PRODUCTS:
            catalogue, accounts = (await shop.handle(CountShop(users=False))).products == 0, False
        elif settings.service is ServiceName.USERS:
            catalogue, accounts = False, (await shop.handle(CountShop(products=False))).users == 0
        else:  # the orders and payments services' databases hold neither
            catalogue = accounts = False
        if catalogue:
            await _seed(shop, settings.demo_products)
        if not accounts:
            return None
        password = one_time_password()
        await shop.handle(
            MakeAdmin(email=DEMO_ADMIN_EMAIL, password=password, name="관리자", temporary=True)
        )
        return password


def _share_metrics_between_workers(settings: Settings) -> None:
    """Prometheus multi-process mode: workers write to one folder, /metrics sums them."""
    folder = (settings.var_dir / "prometheus").resolve()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _check_granian_tuning() -> None:
    """granian's variables checked here, where a bad one is a message, not a worker's crash."""
    from cloudmall.web.granian_worker import tuning  # granian only when it serves

    try:
        tuning(os.environ)
    except ValueError as exc:
        raise fail(str(exc)) from exc


def serve(
    host: Annotated[
        str, typer.Option(envvar="CLOUDMALL_HOST", help="address to listen on")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(envvar="CLOUDMALL_PORT", min=1, max=65535, help="port to listen on"),
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(envvar="CLOUDMALL_WORKERS", min=1, max=64, help="worker processes"),
    ] = 1,
    demo: Annotated[bool, typer.Option(help="load demo data into an empty shop")] = True,
    runtime: Annotated[
        Runtime | None,
        typer.Option(
            help="server (default), or function: each request becomes an API Gateway event for "
            "the Lambda handler, one at a time per worker",
            envvar="CLOUDMALL_RUNTIME",
        ),
    ] = None,
    server: Annotated[
        HttpServer | None,
        typer.Option(
            help="the HTTP server in each worker (default: uvicorn; docs/benchmarks.md)",
            envvar="CLOUDMALL_SERVER",
        ),
    ] = None,
    service: Annotated[
        ServiceName | None,
        typer.Option(
            help="serve one context of the services topology (docs/microservices.md), under "
            "the service runtime; default: the whole shop",
            envvar="CLOUDMALL_SERVICE",
        ),
    ] = None,
) -> None:
    """Run the shop: migrate, fill an empty shop with demo data, and serve HTTP."""
    if not _port_free(host, port):
        raise fail(f"port {port} on {host} is already in use: choose another with --port")
    if service is not None:
        os.environ["CLOUDMALL_SERVICE"] = service.value  # the workers read their settings anew
        runtime = runtime or Runtime.SERVICE
    if runtime is not None:
        os.environ["CLOUDMALL_RUNTIME"] = runtime.value
    if server is not None:
        os.environ["CLOUDMALL_SERVER"] = server.value
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    # Links in mails point here unless the storefront's address is set (the workers read it).
    os.environ.setdefault("CLOUDMALL_PUBLIC_URL", f"http://{shown_host}:{port}")
    settings = load_settings()
    if settings.server is HttpServer.GRANIAN:
        _check_granian_tuning()
    password = run(_prepare(settings, demo=demo))
    name = f"cloudmall {settings.service} service" if settings.service else "cloudmall"
    console.print(f"\n[bold green]{name}[/] is running at [bold]http://{shown_host}:{port}/[/]")
    console.print(f"API docs: http://{shown_host}:{port}/docs")
    if password:
        console.print(
            f"admin: {DEMO_ADMIN_EMAIL}  one-time password: [bold]{password}[/] "
            "(change it at the first log-in)"
        )
    elif demo and settings.service in (None, ServiceName.USERS):
        console.print(
            f"admin: {DEMO_ADMIN_EMAIL} (its one-time password was shown at the first run; a "
            f"new one: cloudmall admin reset-password {DEMO_ADMIN_EMAIL})"
        )
    sys.stdout.flush()
    if workers > 1:
        _share_metrics_between_workers(settings)
    function = settings.runtime is Runtime.FUNCTION
    run_server(host, port, workers, FUNCTION_APP if function else APP, settings.server)
