"""Registry backups with the audit log: one zip file that restores into an empty database of
either kind (SQLite or PostgreSQL), and whose audit log can be checked on its own and against
the live one.

Layout of the zip (format ``ocop-backup/1``):

- ``manifest.json``: when it was made, the schema revision, the row count and SHA-256 of each
  table file, and the audit log's head (last sequence and hash) at that moment;
- ``tables/<table>.jsonl``: one JSON object per row; timestamps and dates in ISO 8601, bytes
  in base64. Raw scan events are left out unless asked for (they are many, and the per-serial
  aggregates that verdicts use are kept).

Everything is read in one transaction, so the files agree with each other.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Engine,
    LargeBinary,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.engine import Connection

from verifier.store.audit_chain import HEAD_KEY, ChainReport, check_entries, parse_head
from verifier.store.models import (
    AuditEntry,
    Base,
    Meta,
    Scan,
    ScanFlush,
    SignedCodes,
    UtcDateTime,
    WebSession,
)

__all__ = ["FORMAT", "BackupError", "Manifest", "compare_logs", "restore", "verify_backup",
           "write_backup"]  # fmt: skip

FORMAT = "ocop-backup/1"
_CHUNK = 1000


class BackupError(Exception):
    """A backup file that cannot be used, or a database it cannot go into; the message says
    why."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds."""

    created_at: datetime
    revision: str
    rows: dict[str, int]
    audit_head: tuple[int, str] | None

    def as_json(self, digests: dict[str, str]) -> dict[str, Any]:
        head = self.audit_head
        return {
            "format": FORMAT,
            "created_at": self.created_at.isoformat(),
            "schema_revision": self.revision,
            "tables": {name: {"rows": n, "sha256": digests[name]} for name, n in self.rows.items()},
            "audit_head": None if head is None else {"sequence": head[0], "hash": head[1]},
        }


def _tables(with_scans: bool) -> list[Table]:
    """The tables a backup holds: not the workers' change feed (``scan_flushes``) nor the
    browsers' sign-ins (``web_sessions``: a restore signs everyone out) nor signed codes on
    their way to a download (``signed_codes``: as good as printed stamps), and the raw scan
    events only when asked."""
    skipped = {ScanFlush.__tablename__, WebSession.__tablename__, SignedCodes.__tablename__}
    if not with_scans:
        skipped.add(Scan.__tablename__)
    return [t for t in Base.metadata.sorted_tables if t.name not in skipped]


def _encode(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _decode(column: ColumnElement[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    return value


def _revision(connection: Connection) -> str:
    return str(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar())


def _head(connection: Connection) -> tuple[int, str] | None:
    value = connection.execute(select(Meta.value).where(Meta.key == HEAD_KEY)).scalar()
    return None if value is None else parse_head(value)


def write_backup(
    engine: Engine, out: Path | IO[bytes], now: datetime, *, with_scans: bool = False
) -> Manifest:
    """Write a backup of the whole registry and its audit log to ``out`` (a path or a binary
    file object) and return its manifest."""
    rows: dict[str, int] = {}
    digests: dict[str, str] = {}
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with (
        engine.connect().execution_options(**options) as connection,
        connection.begin(),
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        revision, head = _revision(connection), _head(connection)
        for table in _tables(with_scans):
            digest, count = hashlib.sha256(), 0
            with archive.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as member:
                ordered = select(table).order_by(*table.primary_key.columns)
                for row in connection.execution_options(yield_per=_CHUNK).execute(ordered):
                    record = {c.name: _encode(row._mapping[c]) for c in table.columns}
                    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                    data = line.encode()
                    member.write(data)
                    digest.update(data)
                    count += 1
            rows[table.name], digests[table.name] = count, digest.hexdigest()
        manifest = Manifest(now, revision, rows, head)
        archive.writestr("manifest.json", json.dumps(manifest.as_json(digests), indent=2))
    return manifest


class _Backup:
    """An opened backup file whose manifest and table files have been checked."""

    def __init__(self, source: Path | IO[bytes]) -> None:
        try:
            self.archive = zipfile.ZipFile(source)
            manifest = json.loads(self.archive.read("manifest.json"))
        except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise BackupError(f"not an OCOP backup file: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"not an OCOP backup file (format {FORMAT} expected)")
        self.manifest = manifest
        tables = manifest.get("tables")
        known = set(Base.metadata.tables)
        if not isinstance(tables, dict) or not set(tables) <= known:
            raise BackupError("the backup's manifest does not list this registry's tables")
        for name, meta in tables.items():
            try:
                data = self.archive.read(f"tables/{name}.jsonl")
            except KeyError:
                raise BackupError(f"the backup lacks the table file {name}") from None
            if not isinstance(meta, dict) or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise BackupError(f"the table file {name} does not match its checksum")

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        with self.archive.open(f"tables/{table}.jsonl") as member:
            for line in io.TextIOWrapper(member, encoding="utf-8"):
                yield json.loads(line)

    def audit_entries(self) -> Iterator[AuditEntry]:
        columns = AuditEntry.__table__.columns
        for row in self.rows(AuditEntry.__tablename__):
            yield AuditEntry(**{c.name: _decode(c, row[c.name]) for c in columns})

    @property
    def head(self) -> tuple[int, str] | None:
        head = self.manifest.get("audit_head")
        return None if head is None else (int(head["sequence"]), str(head["hash"]))


def verify_backup(source: Path | IO[bytes]) -> ChainReport:
    """Check a backup's files against its manifest and its audit log's chain. Returns the
    chain report; raises :class:`BackupError` for a file that is not a sound backup."""
    backup = _Backup(source)
    return check_entries(backup.audit_entries(), backup.head)


def compare_logs(connection: Connection, source: Path | IO[bytes]) -> ChainReport:
    """Check that the live audit log still holds every entry of a backup's log unchanged
    (so the history was not rewritten and re-hashed since). Returns a report whose
    ``broken_at`` is the first entry that differs or is gone."""
    backup = _Backup(source)
    rows = connection.execute(select(AuditEntry.sequence, AuditEntry.hash))
    live: dict[int, str] = dict(rows.all())
    checked = 0
    for entry in backup.audit_entries():
        if live.get(entry.sequence) != entry.hash:
            what = "is gone" if entry.sequence not in live else "differs"
            return ChainReport(
                checked, entry.sequence,
                f"entry {entry.sequence} of the backup {what} in the live log "
                "(history rewritten since the backup)",
            )  # fmt: skip
        checked += 1
    return ChainReport(checked)


def restore(engine: Engine, source: Path | IO[bytes]) -> dict[str, int]:
    """Load a backup into ``engine``'s database, which must be migrated to the backup's schema
    revision and hold no registry yet. Returns the rows loaded per table; raises
    :class:`BackupError` (and loads nothing) otherwise."""
    backup = _Backup(source)
    loaded: dict[str, int] = {}
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    with engine.begin() as connection:
        if _revision(connection) != backup.manifest["schema_revision"]:
            raise BackupError(
                f"the backup is of schema {backup.manifest['schema_revision']}, the database "
                f"of {_revision(connection)}; run the matching version of ocop"
            )
        for name in backup.manifest["tables"]:
            table = tables[name]
            holds = connection.execute(select(func.count()).select_from(table)).scalar()
            if name != Meta.__tablename__ and holds:
                raise BackupError(f"the database already holds {name}; restore needs it empty")
        connection.execute(delete(Meta))  # what migrations wrote; the backup's wins
        for table in Base.metadata.sorted_tables:
            if table.name in backup.manifest["tables"]:
                loaded[table.name] = _load(connection, table, backup.rows(table.name))
                _reset_sequence(connection, table)
    return loaded


def _load(connection: Connection, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    """Insert ``rows`` into ``table`` in chunks and return how many. Columns that refer to the
    same table (a certificate superseded by a later one) are set in a second pass, since the
    row they name may come later."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    key = [c.name for c in table.primary_key.columns]
    links: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        values = {c.name: _decode(c, row.get(c.name)) for c in table.columns}
        if any(values[name] is not None for name in own):
            links.append({**{f"k_{k}": values[k] for k in key}, **{n: values[n] for n in own}})
            values.update(dict.fromkeys(own))
        batch.append(values)
        if len(batch) == _CHUNK:
            connection.execute(table.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    if links:
        match = and_(*(table.c[k] == bindparam(f"k_{k}") for k in key))
        connection.execute(table.update().where(match), links)
    return count


def _reset_sequence(connection: Connection, table: Table) -> None:
    """On PostgreSQL, move an integer key's sequence past the restored ids."""
    if connection.dialect.name != "postgresql" or "id" not in table.columns:
        return
    connection.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
        )
    )
