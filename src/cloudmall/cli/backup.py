"""`cloudmall backup create | list | verify | restore ID | prune` (see docs/backup.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url

from cloudmall.bootstrap import build_store, open_backup_database, scratch_backup_database
from cloudmall.cli.runner import console, err, load_settings, run
from cloudmall.config import Settings
from cloudmall.services.backup import (
    Listing,
    Manifest,
    PrunePlan,
    RestoreReport,
    VerifyReport,
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
    verify_backup,
)
from cloudmall.services.ports import BackupDatabase, ObjectStore

backup_app = typer.Typer(
    help="Back up the shop's database to the object store, list, verify, restore and prune.",
    no_args_is_help=True,
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CLOUDMALL_BACKUP_STORAGE_URL",
        help="where backups live (file://… or s3://…); default: CLOUDMALL_STORAGE_URL",
        show_default=False,
    ),
]


def _store(settings: Settings, url: str | None) -> ObjectStore:
    return build_store(url or settings.storage_url)


class _Bars:
    """The services' Progress as rich bars: one bar per phase (table dumped, checked, …)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def phase(self, description: str, total: int | None) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


@contextmanager
def _bars() -> Iterator[_Bars]:
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
        disable=not err.is_terminal,
    ) as progress:
        yield _Bars(progress)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _rows(manifest: Manifest) -> str:
    return ", ".join(f"{entry.rows} {entry.name}" for entry in manifest.tables)


@backup_app.command("create")
def create(
    storage_class: Annotated[
        str,
        typer.Option(
            "--storage-class",
            help="S3 storage class of the parts: STANDARD, STANDARD_IA or GLACIER",
            case_sensitive=False,
        ),
    ] = "STANDARD",
    store_url: StoreOption = None,
) -> None:
    """Back up the database (one consistent snapshot) to backups/<ID>/ in the object store."""
    settings = load_settings()

    async def work() -> Manifest:
        async with open_backup_database(settings.database_url) as database:
            with _bars() as bars:
                return await create_backup(
                    database=database,
                    store=_store(settings, store_url),
                    storage_class=storage_class.upper(),
                    progress=bars,
                )

    manifest = run(work())
    seconds = (manifest.finished_at - manifest.created_at).total_seconds()
    console.print(
        f"backup [bold]{manifest.backup_id}[/] complete: {_rows(manifest)}; "
        f"{_size(manifest.size)} in {seconds:.1f} s ({manifest.storage_class})",
        highlight=False,
    )


@backup_app.command("list")
def list_command(store_url: StoreOption = None) -> None:
    """The complete backups, newest first (directories without a manifest are not listed)."""
    settings = load_settings()

    async def work() -> Listing:
        return await list_backups(_store(settings, store_url))

    listing = run(work())
    if not listing.backups:
        console.print("no backups yet: make one with `cloudmall backup create`")
    else:
        heading = ("ID", "created (UTC)", "backend", "revision", "orders", "size", "class")
        rows = [
            (
                m.backup_id,
                f"{m.created_at:%Y-%m-%d %H:%M:%S}",
                m.backend,
                m.schema_revision,
                str(m.rows("orders")),
                _size(m.size),
                m.storage_class,
            )
            for m in listing.backups
        ]
        if console.is_terminal:
            table = Table(*heading)
            table.columns[0].no_wrap = True
            for row in rows:
                table.add_row(*row)
            console.print(table)
        else:  # plain columns for scripts and logs: one backup per line, never wrapped
            widths = [max(len(r[i]) for r in [heading, *rows]) for i in range(len(heading))]
            for row in [heading, *rows]:
                line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                print(line.rstrip())
    if listing.incomplete:
        console.print(
            f"{len(listing.incomplete)} incomplete backup(s) without a manifest are not listed "
            "(`cloudmall backup prune` removes them after 24 h)"
        )


@backup_app.command("verify")
def verify(
    backup_id: Annotated[str, typer.Argument(metavar="ID", help="a backup id from `list`")],
    trial: Annotated[
        bool, typer.Option(help="also restore into a scratch database and compare")
    ] = True,
    scratch_url: Annotated[
        str | None,
        typer.Option(
            "--scratch-url",
            help="an EMPTY database for the trial restore; default: a temporary SQLite file",
            show_default=False,
        ),
    ] = None,
    store_url: StoreOption = None,
) -> None:
    """Check a backup's parts (SHA-256, rows, content checksums) and trial-restore it."""
    settings = load_settings()

    def scratch() -> AbstractAsyncContextManager[BackupDatabase]:
        if scratch_url is None:
            return scratch_backup_database()
        return open_backup_database(scratch_url)

    async def work() -> VerifyReport:
        with _bars() as bars:
            return await verify_backup(
                store=_store(settings, store_url),
                backup_id=backup_id,
                scratch=scratch if trial else None,
                progress=bars,
            )

    report = run(work())
    console.print(
        f"backup [bold]{backup_id}[/] is intact: {len(report.tables)} tables, "
        f"{sum(t.rows for t in report.tables)} rows, checksums match",
        highlight=False,
    )
    if report.trial is not None:
        console.print(
            f"trial restore into a scratch database: {_rows(report.manifest)}; "
            f"per-table checksums match ({report.trial.seconds:.1f} s)",
            highlight=False,
        )
    if report.missing_media:
        console.print(
            f"[yellow]warning:[/] {len(report.missing_media)} of the images the products point "
            f"at are not in the store, e.g. {report.missing_media[0]}",
            highlight=False,
        )


@backup_app.command("restore")
def restore(
    backup_id: Annotated[str, typer.Argument(metavar="ID", help="a backup id from `list`")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="the database URL to restore into; default: CLOUDMALL_DATABASE_URL",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="replace the rows of a non-empty shop database")
    ] = False,
    store_url: StoreOption = None,
) -> None:
    """Restore a backup into an empty database (any backend), then compare checksums."""
    settings = load_settings()
    target = to or settings.database_url

    async def work() -> RestoreReport:
        async with open_backup_database(target) as database:
            with _bars() as bars:
                return await restore_backup(
                    store=_store(settings, store_url),
                    database=database,
                    backup_id=backup_id,
                    force=force,
                    progress=bars,
                )

    report = run(work())
    rows = ", ".join(f"{n} {name}" for name, n in report.rows.items())
    console.print(
        f"restored backup [bold]{backup_id}[/] ({report.manifest.backend}) into "
        f"{_database_name(target)}: {rows}; per-table checksums match "
        f"({report.seconds:.1f} s)",
        highlight=False,
    )


def _database_name(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@backup_app.command("prune")
def prune(
    keep_daily: Annotated[
        int, typer.Option("--keep-daily", min=0, help="newest backup of each of the last N days")
    ] = 7,
    keep_weekly: Annotated[
        int, typer.Option("--keep-weekly", min=0, help="newest backup of each of the last M weeks")
    ] = 4,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only show what would go")] = False,
    store_url: StoreOption = None,
) -> None:
    """Delete backups outside the retention rule (see docs/backup.md), and abandoned ones."""
    settings = load_settings()

    async def work() -> PrunePlan:
        return await prune_backups(
            store=_store(settings, store_url),
            keep_daily=keep_daily,
            keep_weekly=keep_weekly,
            dry_run=dry_run,
        )

    plan = run(work())
    verb = "would delete" if dry_run else "deleted"
    for m in plan.keep:
        console.print(f"keep    {m.backup_id}  {m.created_at:%Y-%m-%d %a}", highlight=False)
    for m in plan.delete:
        console.print(f"{verb:<7} {m.backup_id}  {m.created_at:%Y-%m-%d %a}", highlight=False)
    for backup_id in plan.incomplete:
        console.print(f"{verb:<7} {backup_id}  (incomplete)", highlight=False)
    console.print(
        f"{len(plan.keep)} kept, {len(plan.delete)} {verb}"
        + (f", {len(plan.incomplete)} incomplete {verb}" if plan.incomplete else ""),
        highlight=False,
    )
