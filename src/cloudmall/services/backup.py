"""Backup and restore: a portable logical dump of the shop's database in the object store.

The guide's backup pattern ("database and files to S3 daily, old copies to cheaper storage"):

- `create_backup` reads every table inside one consistent snapshot while the shop keeps
  serving, and writes one or more gzip-compressed JSON-lines parts per table under
  `backups/<ID>/`, then `manifest.json` LAST. A backup without a manifest is incomplete: it is
  never listed, never restored, and `prune` removes it once it is old.
- Values are encoded portably and canonically (Decimal as a normalised string, datetimes as
  ISO-8601 UTC with microseconds, booleans, null), one JSON array per row in primary-key order,
  so the SHA-256 of a table's lines (its *content checksum*) is the same on SQLite, MariaDB and
  PostgreSQL. A restore is checked by dumping the restored tables again and comparing.
- `restore_backup` checks every part (SHA-256 of the bytes, decoding, row counts, content
  checksums) before it writes anything, then loads the rows in foreign-key order in one
  transaction, moves id sequences past the restored ids, and compares the result.
- Product images are content-addressed, immutable objects that already live in the object
  store; the manifest lists the keys the database points at so `verify` can check they exist.

This module depends only on the ports: the database side is a `BackupDatabase`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import orjson

from cloudmall.domain.errors import CloudmallError, Conflict, InvalidInput, NotFound
from cloudmall.services.media_links import IMAGES_PREFIX, THUMBNAILS_PREFIX, thumbnail_key
from cloudmall.services.ports import (
    STORAGE_CLASSES,
    BackupDatabase,
    DatabaseSnapshot,
    ObjectStore,
    TableSpec,
)

FORMAT = "cloudmall-backup"
FORMAT_VERSION = 1
PREFIX = "backups/"
MANIFEST = "manifest.json"
DEFAULT_BATCH = 2_000
DEFAULT_PART_ROWS = 200_000
INCOMPLETE_GRACE = timedelta(hours=24)

JsonValue = str | int | float | bool | None

_ID = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{6})$")
_PART = re.compile(r"^[a-z_][a-z0-9_]*\.\d{4}\.jsonl\.gz$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# --- errors -------------------------------------------------------------------------------------


class BackupNotFound(NotFound):
    code = "backup_not_found"


class BackupCorrupted(InvalidInput):
    code = "backup_corrupted"


class BackupIncompatible(Conflict):
    code = "backup_incompatible"


class TargetNotEmpty(Conflict):
    code = "target_not_empty"


class RestoreMismatch(CloudmallError):
    code = "restore_mismatch"


# --- progress -----------------------------------------------------------------------------------


class Progress(Protocol):
    """Where long runs report; the CLI draws bars, tests pass nothing."""

    def phase(self, description: str, total: int | None) -> None: ...
    def advance(self, amount: int) -> None: ...


class _Silent:
    def phase(self, description: str, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


SILENT: Progress = _Silent()


# --- canonical encoding and checksums (pure) ----------------------------------------------------


def encode_value(value: object) -> JsonValue:
    """One value in the portable, canonical encoding (equal values → equal encodings)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot back up the non-finite number {value}")
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot back up the non-finite number {value}")
        return value
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def encode_row(row: Sequence[object]) -> bytes:
    """A row as one canonical JSON line (without the newline)."""
    return orjson.dumps([encode_value(value) for value in row])


class TableDigest:
    """The content checksum of one table: SHA-256 over its columns and its canonical lines,
    which must come in strictly increasing primary-key order."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.rows = 0
        self._pk = spec.columns.index(spec.primary_key)
        self._last: object = None
        self._hash = hashlib.sha256(orjson.dumps(list(spec.columns)) + b"\n")

    def add(self, line: bytes, key: object) -> None:
        if key is None or (self._last is not None and not _less(self._last, key)):
            raise ValueError(
                f"{self.spec.name}: rows out of primary-key order at {self.spec.primary_key}={key}"
            )
        self._last = key
        self.rows += 1
        self._hash.update(line)
        self._hash.update(b"\n")

    def add_row(self, row: Sequence[object]) -> bytes:
        line = encode_row(row)
        self.add(line, row[self._pk])
        return line

    def add_line(self, line: bytes) -> None:
        """A line read back from a part: decoded to check its shape and key order."""
        try:
            values = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{self.spec.name}: a line is not JSON ({exc})") from None
        if not isinstance(values, list) or len(values) != len(self.spec.columns):
            raise ValueError(f"{self.spec.name}: a line does not have the table's columns")
        self.add(line, values[self._pk])

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _less(a: object, b: object) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return a < b
    return str(a) < str(b)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gzip_lines(lines: Iterable[bytes]) -> bytes:
    """Lines as one gzip member (no timestamp, so equal content gives equal bytes)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    chunks = [packer.compress(line + b"\n") for line in lines]
    chunks.append(packer.flush())
    return b"".join(chunks)


def gunzip_lines(data: bytes) -> list[bytes]:
    unpacker = zlib.decompressobj(31)
    text = unpacker.decompress(data) + unpacker.flush()
    if not unpacker.eof or unpacker.unused_data:
        raise ValueError("the compressed stream is truncated or has trailing bytes")
    if not text:
        return []
    if not text.endswith(b"\n"):
        raise ValueError("the last line is cut off")
    return text[:-1].split(b"\n")


# --- backup ids and the manifest (pure) ---------------------------------------------------------


def new_backup_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def backup_time(backup_id: str) -> datetime | None:
    """When a backup id says it was started, or None if it is not a backup id."""
    match = _ID.match(backup_id)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PartInfo:
    name: str  # file name under backups/<ID>/
    rows: int
    size: int  # bytes as stored
    sha256: str  # of the compressed bytes as stored


@dataclass(frozen=True, slots=True)
class TableEntry:
    name: str
    columns: tuple[str, ...]
    primary_key: str
    rows: int
    content_sha256: str
    parts: tuple[PartInfo, ...]

    @property
    def spec(self) -> TableSpec:
        return TableSpec(name=self.name, columns=self.columns, primary_key=self.primary_key)

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)


@dataclass(frozen=True, slots=True)
class Manifest:
    backup_id: str
    created_at: datetime
    finished_at: datetime
    backend: str
    schema_revision: str
    storage_class: str
    tables: tuple[TableEntry, ...]
    media_keys: tuple[str, ...] = ()
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def size(self) -> int:
        return sum(table.size for table in self.tables)

    def rows(self, table: str) -> int:
        return next((entry.rows for entry in self.tables if entry.name == table), 0)

    def to_json(self) -> bytes:
        document = {
            "format": self.format,
            "format_version": self.format_version,
            "id": self.backup_id,
            "created_at": encode_value(self.created_at),
            "finished_at": encode_value(self.finished_at),
            "backend": self.backend,
            "schema_revision": self.schema_revision,
            "storage_class": self.storage_class,
            "tables": [
                {
                    "name": entry.name,
                    "columns": list(entry.columns),
                    "primary_key": entry.primary_key,
                    "rows": entry.rows,
                    "content_sha256": entry.content_sha256,
                    "parts": [
                        {"name": p.name, "rows": p.rows, "bytes": p.size, "sha256": p.sha256}
                        for p in entry.parts
                    ],
                }
                for entry in self.tables
            ],
            "media": {"count": len(self.media_keys), "keys": list(self.media_keys)},
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes, *, backup_id: str) -> Manifest:
        """Parse and check a manifest; BackupCorrupted says what is wrong with it."""
        try:
            doc = orjson.loads(data)
            manifest = cls(
                backup_id=str(doc["id"]),
                created_at=_parse_time(doc["created_at"]),
                finished_at=_parse_time(doc["finished_at"]),
                backend=str(doc["backend"]),
                schema_revision=str(doc["schema_revision"]),
                storage_class=str(doc["storage_class"]),
                tables=tuple(
                    TableEntry(
                        name=str(t["name"]),
                        columns=tuple(str(c) for c in t["columns"]),
                        primary_key=str(t["primary_key"]),
                        rows=int(t["rows"]),
                        content_sha256=str(t["content_sha256"]),
                        parts=tuple(
                            PartInfo(
                                name=str(p["name"]),
                                rows=int(p["rows"]),
                                size=int(p["bytes"]),
                                sha256=str(p["sha256"]),
                            )
                            for p in t["parts"]
                        ),
                    )
                    for t in doc["tables"]
                ),
                media_keys=tuple(str(k) for k in doc.get("media", {}).get("keys", [])),
                format=str(doc["format"]),
                format_version=int(doc["format_version"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupCorrupted(
                f"backup {backup_id}: the manifest is unreadable ({type(exc).__name__}: {exc})"
            ) from None
        problems = manifest_problems(manifest, backup_id=backup_id)
        if problems:
            raise BackupCorrupted(f"backup {backup_id}: bad manifest: {problems[0]}")
        return manifest


def _parse_time(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError("a time is not a string")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def manifest_problems(manifest: Manifest, *, backup_id: str) -> list[str]:
    """Everything that makes a manifest unusable (empty when it is fine)."""
    problems: list[str] = []
    if manifest.format != FORMAT:
        problems.append(f"not a cloudmall backup (format {manifest.format!r})")
    if manifest.format_version > FORMAT_VERSION:
        problems.append(
            f"format version {manifest.format_version} is newer than this cloudmall reads "
            f"({FORMAT_VERSION}): use a newer cloudmall"
        )
    if manifest.backup_id != backup_id:
        problems.append(f"it names backup {manifest.backup_id!r}")
    if not manifest.tables:
        problems.append("it lists no tables")
    names = [entry.name for entry in manifest.tables]
    if len(set(names)) != len(names):
        problems.append("a table is listed twice")
    for entry in manifest.tables:
        if not _NAME.match(entry.name) or not all(_NAME.match(c) for c in entry.columns):
            problems.append(f"{entry.name!r}: a table or column name is not a plain identifier")
        if entry.primary_key not in entry.columns:
            problems.append(f"{entry.name}: primary key {entry.primary_key!r} is not a column")
        if not _HEX64.match(entry.content_sha256):
            problems.append(f"{entry.name}: the content checksum is not a SHA-256")
        if sum(part.rows for part in entry.parts) != entry.rows or entry.rows < 0:
            problems.append(f"{entry.name}: the parts' rows do not add up to {entry.rows}")
        for part in entry.parts:
            if not _PART.match(part.name) or not part.name.startswith(f"{entry.name}."):
                problems.append(f"{entry.name}: bad part name {part.name!r}")
            if not _HEX64.match(part.sha256):
                problems.append(f"{entry.name}: part {part.name} has no SHA-256")
    return problems


# --- retention (pure) ---------------------------------------------------------------------------


def retained(
    backups: Iterable[tuple[str, datetime]], *, keep_daily: int, keep_weekly: int
) -> set[str]:
    """Which backups a prune keeps.

    Going from the newest backup to the oldest: the newest backup of each of the last
    `keep_daily` UTC days that have a backup, and the newest backup of each of the last
    `keep_weekly` ISO weeks that have a backup. The two sets are united; the rest go.
    """
    if keep_daily < 0 or keep_weekly < 0:
        raise InvalidInput("--keep-daily and --keep-weekly cannot be negative")
    days: set[date] = set()
    weeks: set[tuple[int, int]] = set()
    keep: set[str] = set()
    for backup_id, created in sorted(backups, key=lambda b: (b[1], b[0]), reverse=True):
        moment = created.astimezone(UTC)
        day = moment.date()
        week = moment.isocalendar()[:2]
        if day not in days and len(days) < keep_daily:
            days.add(day)
            keep.add(backup_id)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.add(week)
            keep.add(backup_id)
    return keep


# --- use cases ----------------------------------------------------------------------------------


def _key(backup_id: str, name: str) -> str:
    return f"{PREFIX}{backup_id}/{name}"


class _PartWriter:
    """Collects a table's lines and writes them as numbered parts of at most `part_rows` rows."""

    def __init__(
        self, store: ObjectStore, backup_id: str, table: str, part_rows: int, storage_class: str
    ) -> None:
        self.store = store
        self.backup_id = backup_id
        self.table = table
        self.part_rows = part_rows
        self.storage_class = storage_class
        self.lines: list[bytes] = []
        self.parts: list[PartInfo] = []
        self.written: list[str] = []

    async def add(self, line: bytes) -> None:
        self.lines.append(line)
        if len(self.lines) >= self.part_rows:
            await self.flush()

    async def flush(self, *, final: bool = False) -> None:
        if not self.lines and not (final and not self.parts):
            return
        name = f"{self.table}.{len(self.parts):04d}.jsonl.gz"
        data = gzip_lines(self.lines)
        key = _key(self.backup_id, name)
        self.written.append(key)
        await self.store.put(
            key,
            data,
            content_type="application/gzip",
            cache_control="no-store",
            storage_class=self.storage_class,
        )
        self.parts.append(
            PartInfo(name=name, rows=len(self.lines), size=len(data), sha256=sha256_hex(data))
        )
        self.lines = []


async def _dump(
    snapshot: DatabaseSnapshot,
    digest: TableDigest,
    *,
    batch_size: int,
    progress: Progress,
    label: str,
) -> AsyncIterator[bytes]:
    """Each row of a table as its canonical line, checked against the snapshot's count."""
    spec = digest.spec
    total = await snapshot.count(spec)
    progress.phase(f"{label} {spec.name}", total)
    async for batch in snapshot.batches(spec, batch_size):
        for row in batch:
            yield digest.add_row(row)
        progress.advance(len(batch))
    if digest.rows != total:
        raise RuntimeError(
            f"{spec.name}: read {digest.rows} rows but the snapshot counts {total}: "
            "the snapshot is not consistent"
        )


async def table_digest(
    snapshot: DatabaseSnapshot,
    spec: TableSpec,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress = SILENT,
    label: str = "comparing",
) -> TableDigest:
    """The content checksum of one table as it is in the database."""
    digest = TableDigest(spec)
    async for _line in _dump(
        snapshot, digest, batch_size=batch_size, progress=progress, label=label
    ):
        pass
    return digest


async def create_backup(
    *,
    database: BackupDatabase,
    store: ObjectStore,
    storage_class: str = "STANDARD",
    progress: Progress = SILENT,
    batch_size: int = DEFAULT_BATCH,
    part_rows: int = DEFAULT_PART_ROWS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Manifest:
    """Dump every table from one consistent snapshot; the manifest, written last, completes it."""
    if storage_class not in STORAGE_CLASSES:
        raise InvalidInput(
            f"unknown storage class {storage_class!r}: use one of {', '.join(STORAGE_CLASSES)}"
        )
    started = clock()
    backup_id = new_backup_id(started)
    written: list[str] = []
    try:
        async with database.snapshot() as snapshot:
            revision = _backed_up_revision(snapshot, database.code_revision())
            entries = []
            for spec in database.tables():
                writer = _PartWriter(store, backup_id, spec.name, part_rows, storage_class)
                try:
                    entries.append(await _dump_table(snapshot, spec, writer, batch_size, progress))
                finally:
                    written.extend(writer.written)
            media = tuple(sorted(await snapshot.media_keys()))
        manifest = Manifest(
            backup_id=backup_id,
            created_at=started,
            finished_at=clock(),
            backend=database.backend,
            schema_revision=revision,
            storage_class=storage_class,
            tables=tuple(entries),
            media_keys=media,
        )
        # Last, and always STANDARD: it must stay readable for `list` even when parts are cold.
        await store.put(
            _key(backup_id, MANIFEST),
            manifest.to_json(),
            content_type="application/json",
            cache_control="no-store",
            storage_class="STANDARD",
        )
    except BaseException:
        await _delete_quietly(store, written)
        raise
    return manifest


def _backed_up_revision(snapshot: DatabaseSnapshot, head: str | None) -> str:
    """The snapshot's schema revision, if it is the one this code writes backups of."""
    if snapshot.revision is None:
        raise InvalidInput("the database has no cloudmall schema: nothing to back up")
    if snapshot.revision != head:
        raise BackupIncompatible(
            f"the database is at schema revision {snapshot.revision} but this cloudmall "
            f"expects {head}: run `cloudmall migrate` (or use the matching version) first"
        )
    return snapshot.revision


async def _dump_table(
    snapshot: DatabaseSnapshot,
    spec: TableSpec,
    writer: _PartWriter,
    batch_size: int,
    progress: Progress,
) -> TableEntry:
    """Write one table's rows as parts; its manifest entry (rows, checksum, parts)."""
    digest = TableDigest(spec)
    async for line in _dump(
        snapshot, digest, batch_size=batch_size, progress=progress, label="dumping"
    ):
        await writer.add(line)
    await writer.flush(final=True)
    return TableEntry(
        name=spec.name,
        columns=spec.columns,
        primary_key=spec.primary_key,
        rows=digest.rows,
        content_sha256=digest.hexdigest(),
        parts=tuple(writer.parts),
    )


async def _delete_quietly(store: ObjectStore, keys: list[str]) -> None:
    """Best effort; whatever is left has no manifest and gets pruned."""
    for key in keys:
        try:
            await store.delete(key)
        except Exception:  # noqa: S112 - the original error is the one to report
            continue


@dataclass(frozen=True, slots=True)
class Listing:
    backups: list[Manifest]  # complete ones, newest first
    incomplete: list[str]  # ids of directories without a (readable) manifest


async def list_backups(store: ObjectStore) -> Listing:
    ids: dict[str, set[str]] = {}
    for key in await store.keys(PREFIX):
        rest = key.removeprefix(PREFIX)
        if "/" in rest:
            backup_id, name = rest.split("/", 1)
            ids.setdefault(backup_id, set()).add(name)
    backups: list[Manifest] = []
    incomplete: list[str] = []
    for backup_id, names in sorted(ids.items()):
        if MANIFEST not in names:
            incomplete.append(backup_id)
            continue
        try:
            backups.append(await load_manifest(store, backup_id))
        except (BackupNotFound, BackupCorrupted):
            incomplete.append(backup_id)
    backups.sort(key=lambda m: (m.created_at, m.backup_id), reverse=True)
    return Listing(backups=backups, incomplete=incomplete)


async def load_manifest(store: ObjectStore, backup_id: str) -> Manifest:
    if backup_time(backup_id) is None:
        raise BackupNotFound(
            f"{backup_id!r} is not a backup id (they look like 20250101T020000Z-1a2b3c): "
            "see `cloudmall backup list`"
        )
    stored = await store.get(_key(backup_id, MANIFEST))
    if stored is None:
        raise BackupNotFound(
            f"no complete backup {backup_id} in the store: see `cloudmall backup list`"
        )
    return Manifest.from_json(stored.data, backup_id=backup_id)


async def _read_part(store: ObjectStore, manifest: Manifest, part: PartInfo) -> list[bytes]:
    """A part's lines, after checking its bytes against the manifest."""
    where = f"backup {manifest.backup_id} is corrupted: part {part.name}"
    stored = await store.get(_key(manifest.backup_id, part.name))
    if stored is None:
        raise BackupCorrupted(f"{where} is missing")
    actual = sha256_hex(stored.data)
    if len(stored.data) != part.size or actual != part.sha256:
        raise BackupCorrupted(
            f"{where} has {len(stored.data)} bytes with SHA-256 {actual[:12]}…, the manifest "
            f"says {part.size} bytes with {part.sha256[:12]}…"
        )
    try:
        lines = gunzip_lines(stored.data)
    except (zlib.error, ValueError) as exc:
        raise BackupCorrupted(f"{where} does not decompress: {exc}") from None
    if len(lines) != part.rows:
        raise BackupCorrupted(f"{where} has {len(lines)} rows, the manifest says {part.rows}")
    return lines


@dataclass(frozen=True, slots=True)
class TableCheck:
    name: str
    rows: int
    content_sha256: str


async def check_backup(
    store: ObjectStore, manifest: Manifest, *, progress: Progress = SILENT
) -> list[TableCheck]:
    """Read every part: bytes, decoding, row counts and content checksums. Writes nothing."""
    checks = []
    for entry in manifest.tables:
        progress.phase(f"checking {entry.name}", entry.rows)
        digest = TableDigest(entry.spec)
        for part in entry.parts:
            for line in await _read_part(store, manifest, part):
                try:
                    digest.add_line(line)
                except ValueError as exc:
                    raise BackupCorrupted(
                        f"backup {manifest.backup_id} is corrupted: part {part.name}: {exc}"
                    ) from None
            progress.advance(part.rows)
        if digest.rows != entry.rows or digest.hexdigest() != entry.content_sha256:
            raise BackupCorrupted(
                f"backup {manifest.backup_id} is corrupted: the content of {entry.name} does "
                "not match its checksum in the manifest"
            )
        checks.append(TableCheck(entry.name, digest.rows, digest.hexdigest()))
    return checks


@dataclass(frozen=True, slots=True)
class RestoreReport:
    manifest: Manifest
    rows: dict[str, int]  # per table, counted in the restored database
    seconds: float
    replaced: bool = False
    final_revision: str | None = None


def _chunks(lines: Sequence[bytes], size: int) -> Iterator[list[list[JsonValue]]]:
    for start in range(0, len(lines), size):
        yield [orjson.loads(line) for line in lines[start : start + size]]


async def restore_backup(
    *,
    store: ObjectStore,
    database: BackupDatabase,
    backup_id: str,
    force: bool = False,
    progress: Progress = SILENT,
    batch_size: int = 1_000,
) -> RestoreReport:
    """Restore a backup into an empty database (or, with `force`, replace the shop's rows)."""
    started = time.monotonic()
    manifest = await load_manifest(store, backup_id)
    if not database.knows_revision(manifest.schema_revision):
        raise BackupIncompatible(
            f"backup {backup_id} has schema revision {manifest.schema_revision}, which this "
            f"cloudmall does not know (its newest is {database.code_revision()}): it was made "
            "by a newer version; restore it with that version"
        )
    await check_backup(store, manifest, progress=progress)  # before anything is written

    occupied = await _prepare_target(database, manifest, force=force)
    await _load_rows(store, database, manifest, replace=force, progress=progress, size=batch_size)
    await database.reset_identities()

    counts = await compare_with_manifest(database, manifest, progress=progress)
    final = manifest.schema_revision
    head = database.code_revision()
    if head is not None and head != final:
        await database.migrate(head)
        final = head
    return RestoreReport(
        manifest=manifest,
        rows=counts,
        seconds=time.monotonic() - started,
        replaced=bool(occupied),
        final_revision=final,
    )


async def _prepare_target(
    database: BackupDatabase, manifest: Manifest, *, force: bool
) -> dict[str, int]:
    """Check the target can take the backup (empty, or `force`; a matching or no schema) and
    give it the backup's schema if it has none; the rows it held, by table."""
    current = await database.current_revision()
    occupied = {name: n for name, n in (await database.row_counts()).items() if n}
    if occupied and not force:
        summary = ", ".join(f"{n} {name}" for name, n in sorted(occupied.items()))
        raise TargetNotEmpty(
            f"the target database is not empty ({summary}): restore into an empty database, "
            "or pass --force to replace its contents"
        )
    if current is not None and current != manifest.schema_revision:
        raise BackupIncompatible(
            f"the target database is at schema revision {current} but backup "
            f"{manifest.backup_id} at {manifest.schema_revision}: restore into a new, empty "
            "database"
        )
    if current is None:
        await database.migrate(manifest.schema_revision)
    return occupied


async def _load_rows(
    store: ObjectStore,
    database: BackupDatabase,
    manifest: Manifest,
    *,
    replace: bool,
    progress: Progress,
    size: int,
) -> None:
    """Every table's parts into the database, in one transaction."""
    async with database.loader(replace=replace) as loader:
        for entry in manifest.tables:
            progress.phase(f"restoring {entry.name}", entry.rows)
            for part in entry.parts:
                lines = await _read_part(store, manifest, part)  # re-checked: it may have changed
                for rows in _chunks(lines, size):
                    await loader.insert(entry.spec, rows)
                    progress.advance(len(rows))


async def compare_with_manifest(
    database: BackupDatabase, manifest: Manifest, *, progress: Progress = SILENT
) -> dict[str, int]:
    """Dump the database's tables again and compare row counts and content checksums."""
    counts: dict[str, int] = {}
    async with database.snapshot() as snapshot:
        for entry in manifest.tables:
            digest = await table_digest(snapshot, entry.spec, progress=progress)
            counts[entry.name] = digest.rows
            if digest.rows != entry.rows or digest.hexdigest() != entry.content_sha256:
                raise RestoreMismatch(
                    f"restored table {entry.name} does not match backup {manifest.backup_id}: "
                    f"{digest.rows} rows (backup: {entry.rows}), checksum "
                    f"{digest.hexdigest()[:12]}… (backup: {entry.content_sha256[:12]}…)"
                )
    return counts


@dataclass(frozen=True, slots=True)
class VerifyReport:
    manifest: Manifest
    tables: list[TableCheck]
    trial: RestoreReport | None
    missing_media: list[str] = field(default_factory=list)


async def verify_backup(
    *,
    store: ObjectStore,
    backup_id: str,
    scratch: Callable[[], AbstractAsyncContextManager[BackupDatabase]] | None,
    progress: Progress = SILENT,
) -> VerifyReport:
    """Check every part, then (unless `scratch` is None) restore into a scratch database."""
    manifest = await load_manifest(store, backup_id)
    tables = await check_backup(store, manifest, progress=progress)
    trial = None
    if scratch is not None:
        async with scratch() as database:
            trial = await restore_backup(
                store=store, database=database, backup_id=backup_id, progress=progress
            )
    present: set[str] = set()
    if manifest.media_keys:
        present = set(await store.keys(IMAGES_PREFIX)) | set(await store.keys(THUMBNAILS_PREFIX))
    wanted = [k for key in manifest.media_keys for k in (key, thumbnail_key(key))]
    return VerifyReport(
        manifest=manifest,
        tables=tables,
        trial=trial,
        missing_media=[key for key in wanted if key not in present],
    )


@dataclass(frozen=True, slots=True)
class PrunePlan:
    keep: list[Manifest]
    delete: list[Manifest]
    incomplete: list[str]  # old enough to be abandoned, not in progress
    deleted_objects: int = 0


async def prune_backups(
    *,
    store: ObjectStore,
    keep_daily: int,
    keep_weekly: int,
    dry_run: bool = False,
    now: datetime | None = None,
    incomplete_grace: timedelta = INCOMPLETE_GRACE,
) -> PrunePlan:
    """Apply the retention rule (see `retained`); remove abandoned incomplete backups too."""
    if keep_daily + keep_weekly < 1:
        raise InvalidInput("keep at least one backup: --keep-daily or --keep-weekly must be ≥ 1")
    listing = await list_backups(store)
    keep_ids = retained(
        ((m.backup_id, m.created_at) for m in listing.backups),
        keep_daily=keep_daily,
        keep_weekly=keep_weekly,
    )
    moment = now or datetime.now(UTC)
    abandoned = [
        backup_id
        for backup_id in listing.incomplete
        if (started := backup_time(backup_id)) is not None and moment - started > incomplete_grace
    ]
    plan = PrunePlan(
        keep=[m for m in listing.backups if m.backup_id in keep_ids],
        delete=[m for m in listing.backups if m.backup_id not in keep_ids],
        incomplete=abandoned,
    )
    if dry_run:
        return plan
    deleted = 0
    for backup_id in [m.backup_id for m in plan.delete] + plan.incomplete:
        keys = await store.keys(f"{PREFIX}{backup_id}/")
        manifest_key = _key(backup_id, MANIFEST)
        # The manifest first: a half-deleted backup is never listed as complete.
        for key in sorted(keys, key=lambda k: k != manifest_key):
            await store.delete(key)
            deleted += 1
    return replace(plan, deleted_objects=deleted)
