"""The `cloudmall` command line: serve, migrate, seed, admin, check."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress

from cloudmall.audit import cli as audit_cli
from cloudmall.backup_cli import backup_app
from cloudmall.config import Settings
from cloudmall.cost import cli as cost_cli

if TYPE_CHECKING:
    from cloudmall.bootstrap import Container
    from cloudmall.health import TierStatus

T = TypeVar("T")

app = typer.Typer(help="cloudmall: the guide's online shopping mall.", no_args_is_help=True)
admin_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(cost_cli.app, name="cost")
app.add_typer(backup_app, name="backup")
app.add_typer(audit_cli.app, name="audit")
console = Console()
err = Console(stderr=True)

DEMO_PRODUCTS = 120
DEMO_ADMIN_EMAIL = "admin@cloudmall.example"


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"bad settings: {problems}") from None


def run(make: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run one async command with fresh settings, turning known failures into one-line errors."""
    from cloudmall.domain.errors import CloudmallError
    from cloudmall.services.ports import DatabaseUnavailable

    settings = load_settings()
    try:
        return asyncio.run(make(settings))
    except CloudmallError as exc:
        raise fail(exc.message) from None
    except (DatabaseUnavailable, OSError, ValueError) as exc:
        raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


async def _with_container(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    from cloudmall.bootstrap import build_container

    container = build_container(settings)
    try:
        return await work(container)
    finally:
        await container.aclose()


@app.command()
def migrate() -> None:
    """Apply the database migrations (creates the schema on an empty database)."""
    from cloudmall.adapters.db.migrations import MigrationLockTimeout, upgrade

    async def work(settings: Settings) -> None:
        await upgrade(settings.database_url)

    try:
        run(work)
    except MigrationLockTimeout as exc:
        raise fail(str(exc)) from None
    console.print("database schema is up to date")


async def _seed(container: Container, count: int) -> int:
    from cloudmall.demo import load_demo_catalogue
    from cloudmall.services.ports import ProductQuery

    async with container.uow() as tx:
        existing = await tx.products.count(ProductQuery())
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("drawing and adding products", total=count)
        return await load_demo_catalogue(
            container, count, start=existing + 1, on_progress=lambda: progress.advance(task)
        )


@app.command()
def seed(
    products: Annotated[int, typer.Option("--products", min=1, max=100_000, help="how many")] = 100,
) -> None:
    """Add demo products with locally drawn pictures."""
    from cloudmall.adapters.db.migrations import upgrade

    async def work(settings: Settings) -> int:
        await upgrade(settings.database_url)
        return await _with_container(settings, lambda c: _seed(c, products))

    console.print(f"added {run(work)} products")


@admin_app.command("create")
def admin_create(
    email: str,
    name: Annotated[str, typer.Option(help="display name")] = "Shop admin",
    password: Annotated[
        str | None,
        typer.Option(help="default: a random one, printed once", envvar="CLOUDMALL_ADMIN_PASSWORD"),
    ] = None,
) -> None:
    """Create a staff account (or promote an existing account to staff)."""
    from cloudmall.adapters.db.migrations import upgrade
    from cloudmall.services.accounts import make_admin

    chosen = password or secrets.token_urlsafe(12)

    async def work(settings: Settings) -> None:
        await upgrade(settings.database_url)

        async def create(container: Container) -> None:
            await make_admin(
                uow=container.uow, hasher=container.hasher, email=email, password=chosen, name=name
            )

        await _with_container(settings, create)

    run(work)
    console.print(f"admin account ready: {email}")
    if password is None:
        console.print(f"one-time password (shown only now): [bold]{chosen}[/]")


@admin_app.command("demote")
def admin_demote(email: str) -> None:
    """Make a staff account a customer again; its tokens lose staff rights at once."""
    from cloudmall.domain.users import Role
    from cloudmall.services.credentials import change_role_by_email

    async def work(settings: Settings) -> None:
        async def demote(container: Container) -> None:
            await change_role_by_email(
                uow=container.uow, access=container.access, email=email, role=Role.CUSTOMER
            )

        await _with_container(settings, demote)

    run(work)
    console.print(f"{email} is a customer now")


@app.command()
def check() -> None:
    """Check each tier (database, migrations, cache, object store); exit 1 if any fails."""
    from cloudmall.health import check_tiers

    async def work(settings: Settings) -> list[TierStatus]:
        return await _with_container(settings, check_tiers)

    tiers = run(work)
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
    """Migrate; an empty shop gets the demo catalogue and an admin, whose password is returned."""
    from cloudmall.adapters.db.migrations import upgrade
    from cloudmall.services.accounts import make_admin
    from cloudmall.services.ports import ProductQuery

    await upgrade(settings.database_url)

    async def fill(container: Container) -> str | None:
        async with container.uow() as tx:
            empty = await tx.products.count(ProductQuery()) == 0 and await tx.users.count() == 0
        if not (demo and empty):
            return None
        await _seed(container, DEMO_PRODUCTS)
        password = secrets.token_urlsafe(12)
        await make_admin(
            uow=container.uow,
            hasher=container.hasher,
            email=DEMO_ADMIN_EMAIL,
            password=password,
            name="관리자",
        )
        return password

    return await _with_container(settings, fill)


def _share_metrics_between_workers(settings: Settings) -> None:
    """Prometheus multi-process mode: workers write to one folder, /metrics sums them."""
    folder = (settings.var_dir / "prometheus").resolve()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(envvar="CLOUDMALL_HOST", help="address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CLOUDMALL_PORT", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="CLOUDMALL_WORKERS", min=1, max=64, help="worker processes")
    ] = 1,
    demo: Annotated[bool, typer.Option(help="load demo data into an empty shop")] = True,
) -> None:
    """Run the shop: migrate, fill an empty shop with demo data, and serve HTTP."""
    if not _port_free(host, port):
        raise fail(f"port {port} on {host} is already in use: choose another with --port")
    password = run(lambda settings: _prepare(settings, demo=demo))
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    console.print(f"\n[bold green]cloudmall[/] is running at [bold]http://{shown_host}:{port}/[/]")
    console.print(f"API docs: http://{shown_host}:{port}/docs")
    if password:
        console.print(f"admin: {DEMO_ADMIN_EMAIL}  one-time password: [bold]{password}[/]")
    sys.stdout.flush()
    if workers > 1:
        _share_metrics_between_workers(load_settings())
    from cloudmall.web.server import serve as run_server

    run_server(host, port, workers)
