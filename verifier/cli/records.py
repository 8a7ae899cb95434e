"""The commands that keep the records: ``ocop audit verify``, ``ocop backup``,
``ocop restore`` and ``ocop scans prune``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from verifier.cli.common import CommandError, load_settings
from verifier.scans.recorder import prune_scans
from verifier.store.audit_chain import ChainReport, first_line, verify_chain
from verifier.store.backup import BackupError, compare_logs, restore, verify_backup, write_backup
from verifier.store.database import make_engine, migrate, session_factory

_T = TypeVar("_T")


def add_parsers(commands: Any) -> None:
    """Add ``scans prune``, ``audit verify``, ``backup`` and ``restore`` to ``commands``, each
    with its handler."""
    scans = commands.add_parser("scans", help="the raw scan events")
    scan_commands = scans.add_subparsers(dest="scans_command", required=True, metavar="ACTION")
    prune = scan_commands.add_parser(
        "prune",
        help="delete raw scan events older than N days (per-serial aggregates stay)",
    )
    prune.set_defaults(run=_scans_prune)
    prune.add_argument("--data-dir", type=Path, required=True)
    prune.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    audit_log = commands.add_parser("audit", help="the hash-chained audit log")
    audit_commands = audit_log.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check_chain = audit_commands.add_parser(
        "verify", help="check the chain: exit 0 when intact, 1 with the first broken link"
    )
    check_chain.set_defaults(run=_audit_verify)
    check_chain.add_argument("--data-dir", type=Path, help="check the live log of this deployment")
    check_chain.add_argument(
        "--backup", type=Path, metavar="FILE",
        help="check the log inside a backup file; with --data-dir, also check that the live "
        "log still holds every entry of the backup unchanged",
    )  # fmt: skip
    backup = commands.add_parser(
        "backup", help="write the registry and its audit log to one zip file (restorable)"
    )
    backup.set_defaults(run=_backup)
    backup.add_argument("--data-dir", type=Path, required=True)
    backup.add_argument("--out", type=Path, help="default: DATA_DIR/backups/ocop-backup-TIME.zip")
    backup.add_argument(
        "--with-scans", action="store_true", help="include the raw scan events (large)"
    )
    restore = commands.add_parser(
        "restore", help="load a backup into the deployment's empty database (SQLite or PostgreSQL)"
    )
    restore.set_defaults(run=_restore)
    restore.add_argument("--data-dir", type=Path, required=True)
    restore.add_argument("backup", type=Path, metavar="FILE")


def _scans_prune(args: argparse.Namespace, now: datetime) -> int:
    if args.older_than < 1:
        raise CommandError("--older-than must be at least 1 day")
    settings = load_settings(args.data_dir)
    engine = make_engine(settings.database_url, writer=True)
    cutoff = now - timedelta(days=args.older_than)
    try:
        removed = prune_scans(engine, cutoff)
    finally:
        engine.dispose()
    print(f"{removed:,} scan events before {cutoff:%d/%m/%Y} removed; per-serial counts kept")
    return 0


_CHAINED = "intact: {n} entries, each chained to the one before"


def _audit_verify(args: argparse.Namespace, now: datetime) -> int:
    if args.data_dir is None and args.backup is None:
        raise CommandError("give --data-dir, --backup or both")
    reports: list[tuple[str, str, ChainReport]] = []
    if args.backup is not None:
        report = _read_backup(verify_backup, args.backup)
        reports.append((f"backup {args.backup}", _CHAINED, report))
    if args.data_dir is not None:
        reports += _live_log_reports(load_settings(args.data_dir).database_url, args.backup)
    for what, good, report in reports:
        if report.intact:
            print(f"{what} {good.format(n=report.entries)}")
        else:
            print(f"{what} BROKEN at entry {report.broken_at}: {report.problem}")
            print(f"({report.entries} entries before it check out)")
    return 0 if all(report.intact for _, _, report in reports) else 1


def _live_log_reports(database_url: str, backup: Path | None) -> list[tuple[str, str, ChainReport]]:
    """Return the report on the live log's chain and, with a ``backup``, on the live log
    against it. A corrupt log is a report; a database that cannot be opened, or read for the
    comparison, raises :class:`CommandError`."""
    engine = make_engine(database_url)
    try:
        try:
            engine.connect().close()
        except DBAPIError as exc:  # the database is away: nothing to say about the log
            raise CommandError(f"cannot open the database: {first_line(exc)}") from None
        with session_factory(engine)() as session:
            reports = [("audit log", _CHAINED, verify_chain(session))]
        if backup is not None:
            try:
                with engine.connect() as connection:
                    report = _read_backup(partial(compare_logs, connection), backup)
            except DBAPIError as exc:
                problem = first_line(exc)
                raise CommandError(f"the live audit log cannot be read: {problem}") from None
            unchanged = "holds every one of the backup's {n} entries unchanged"
            reports.append(("live log against the backup", unchanged, report))
        return reports
    finally:
        engine.dispose()


def _read_backup(action: Callable[[Path], _T], path: Path) -> _T:
    """Run ``action`` on a backup file, turning an unusable file into a command error."""
    try:
        return action(path)
    except BackupError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _backup(args: argparse.Namespace, now: datetime) -> int:
    settings = load_settings(args.data_dir)
    out = args.out or settings.data_dir / "backups" / f"ocop-backup-{now:%Y%m%dT%H%M%SZ}.zip"
    engine = make_engine(settings.database_url)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("xb") as file:
            manifest = write_backup(engine, file, now, with_scans=args.with_scans)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc}") from None
    finally:
        engine.dispose()
    rows = sum(manifest.rows.values())
    head = manifest.audit_head
    print(f"backup written: {out} ({out.stat().st_size:,} bytes)")
    print(f"{len(manifest.rows)} tables, {rows:,} rows, schema {manifest.revision}")
    if head is not None:
        print(f"audit log to entry {head[0]}, hash {head[1]}")
    return 0


def _restore(args: argparse.Namespace, now: datetime) -> int:
    settings = load_settings(args.data_dir)
    engine = make_engine(settings.database_url, writer=True)
    try:
        migrate(engine)
        loaded = _read_backup(partial(restore, engine), args.backup)
        with session_factory(engine)() as session:
            report = verify_chain(session)
    finally:
        engine.dispose()
    print(f"restored {sum(loaded.values()):,} rows into {len(loaded)} tables")
    print(f"audit log {'intact' if report.intact else 'BROKEN'}: {report.entries} entries")
    return 0 if report.intact else 1
