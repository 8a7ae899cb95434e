"""The ``ocop`` command: ``main(argv) -> int``, so tests run it in-process."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from signing import (
    DocumentError,
    KeyLoadError,
    OcopError,
    PrivateKey,
    StatusList,
    TrustList,
    Verdict,
    key_id,
    verify,
)
from signing.dates import add_months, vietnam_date
from signing.keys import b64url_decode, b64url_encode
from stamps.sheet import MAX_STAMP_MM, MIN_STAMP_MM, PAPERS, Layout, human_serial
from verifier import registry
from verifier.cli.demo import DemoExists, create_demo
from verifier.i18n.catalogs import CATALOGS, SOURCE
from verifier.i18n.messages import LABELS, NOTES, REASONS, VERDICTS, Language, every_language, text
from verifier.registry import MAX_BATCH
from verifier.scans.recorder import prune_scans
from verifier.service import Service
from verifier.service_errors import ServiceError
from verifier.settings import DEMO_PASSPHRASE, Settings, SettingsError
from verifier.signer import batch_files as printing
from verifier.signer import keyfiles
from verifier.store.audit_chain import ChainReport, first_line, verify_chain
from verifier.store.backup import BackupError, compare_logs, restore, verify_backup, write_backup
from verifier.store.database import make_engine, migrate, session_factory
from verifier.store.models import Certificate, Role, SigningKey
from verifier.web.qrimage import decode_image
from verifier.web.views import verdict_body

_T = TypeVar("_T")

EXIT_GENUINE = 0
EXIT_NOT_GENUINE = 1
EXIT_USAGE = 2

TRUST_LIST_FILE = "trust-list.json"
STATUS_LIST_FILE = "status-list.json"
ROOT_KEY_FILE = "root-public-key.txt"


def _now() -> datetime:
    """The one clock the commands read (tests pin it)."""
    return datetime.now(UTC)


class CommandError(Exception):
    """A failure to report as one line on standard error, with exit status 2."""


def _add_record_commands(commands: Any) -> None:
    """The audit log, backup and restore commands."""
    audit_log = commands.add_parser("audit", help="the hash-chained audit log")
    audit_commands = audit_log.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check_chain = audit_commands.add_parser(
        "verify", help="check the chain: exit 0 when intact, 1 with the first broken link"
    )
    check_chain.add_argument("--data-dir", type=Path, help="check the live log of this deployment")
    check_chain.add_argument(
        "--backup", type=Path, metavar="FILE",
        help="check the log inside a backup file; with --data-dir, also check that the live "
        "log still holds every entry of the backup unchanged",
    )  # fmt: skip
    backup = commands.add_parser(
        "backup", help="write the registry and its audit log to one zip file (restorable)"
    )
    backup.add_argument("--data-dir", type=Path, required=True)
    backup.add_argument("--out", type=Path, help="default: DATA_DIR/backups/ocop-backup-TIME.zip")
    backup.add_argument(
        "--with-scans", action="store_true", help="include the raw scan events (large)"
    )
    restore = commands.add_parser(
        "restore", help="load a backup into the deployment's empty database (SQLite or PostgreSQL)"
    )
    restore.add_argument("--data-dir", type=Path, required=True)
    restore.add_argument("backup", type=Path, metavar="FILE")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocop", description="OCOP stamp: signed QR stamps for OCOP products."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = commands.add_parser("keys", help="make and inspect signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = key_commands.add_parser(
        "generate",
        help="make a new Ed25519 key, stored as encrypted PKCS#8 PEM (mode 0600)",
        description="The passphrase comes from OCOP_KEY_PASSPHRASE, or is asked on the terminal.",
    )
    generate.add_argument("--out", type=Path, required=True, help="the new key file")
    show = key_commands.add_parser("show", help="print the public key of a key file")
    show.add_argument("file", type=Path)
    add = key_commands.add_parser(
        "add",
        help="register a key file as an authority's new stamp-signing key (rotation)",
        description="The key file must lie under DIR/keys/. Republishes the trust list; "
        "restart `ocop serve` so that it loads the new key.",
    )
    add.add_argument("--data-dir", type=Path, required=True)
    add.add_argument("--authority", required=True, help="authority code, e.g. VN-01 or VN-TW")
    add.add_argument("--key", type=Path, required=True, help="the key file, under DIR/keys/")
    add.add_argument("--not-before", type=date.fromisoformat, help="first signing day (today)")
    add.add_argument("--not-after", type=date.fromisoformat, help="last signing day (in 5 years)")
    retire = key_commands.add_parser(
        "retire",
        help="retire a key: it signs no more and its last serial is published",
    )
    retire.add_argument("--data-dir", type=Path, required=True)
    retire.add_argument("index", type=int, help="the key index")

    _add_stamps_parser(commands)
    scans = commands.add_parser("scans", help="the raw scan events")
    scan_commands = scans.add_subparsers(dest="scans_command", required=True, metavar="ACTION")
    prune = scan_commands.add_parser(
        "prune",
        help="delete raw scan events older than N days (per-serial aggregates stay)",
    )
    prune.add_argument("--data-dir", type=Path, required=True)
    prune.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    _add_record_commands(commands)

    demo = commands.add_parser(
        "demo",
        help="make a complete demo deployment (SQLite, keys, sample stamps of every verdict)",
    )
    demo.add_argument("--data-dir", type=Path, required=True)
    serve = commands.add_parser("serve", help="run the verification service")
    serve.add_argument("--data-dir", type=Path, required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    check = commands.add_parser(
        "verify",
        help="check a stamp: exit 0 only when genuine",
        description="Check a stamp given as its URL, its 193 digits, or a photo of its QR code.",
    )
    check.add_argument("stamp", metavar="CODE_OR_URL_OR_IMAGE", help="'-' reads standard input")
    check.add_argument(
        "--data-dir",
        type=Path,
        help=f"holds {TRUST_LIST_FILE}, {STATUS_LIST_FILE} and {ROOT_KEY_FILE}",
    )
    check.add_argument(
        "--offline",
        action="store_true",
        help="decide from the signed lists alone, without the registry",
    )
    check.add_argument("--trust-list", type=Path, help="signed trust list (overrides --data-dir)")
    check.add_argument("--status-list", type=Path, help="signed status list (overrides --data-dir)")
    check.add_argument(
        "--root-key", help="root public key, base64url or hex (overrides --data-dir)"
    )
    check.add_argument(
        "--stars-seen",
        type=int,
        choices=range(1, 6),
        metavar="N",
        help="stars printed on the package (inspectors)",
    )
    check.add_argument("--at", type=_instant, help="check as of this RFC 3339 time")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.add_argument("--lang", choices=CATALOGS.languages, default=SOURCE)
    return parser


def _add_stamps_parser(commands: Any) -> None:
    stamps = commands.add_parser("stamps", help="make print-ready stamps")
    stamp_commands = stamps.add_subparsers(dest="stamps_command", required=True, metavar="ACTION")
    batch = stamp_commands.add_parser(
        "batch",
        help="issue a batch of stamps for a certificate and write its PDF (and CSV, ZIP)",
        description="Allocates the serials in the registry first, then signs and lays out the "
        "stamps; files appear only when complete.",
    )
    batch.add_argument("--data-dir", type=Path, required=True)
    batch.add_argument("--certificate", type=int, required=True, help="certificate id")
    batch.add_argument("--count", type=int, required=True, help=f"1 to {MAX_BATCH:,}")
    batch.add_argument("--out", type=Path, required=True, help="the PDF to write")
    batch.add_argument("--csv", type=Path, help="also write the CSV manifest")
    batch.add_argument("--zip", type=Path, help="also write a ZIP of one PNG per stamp")
    batch.add_argument("--layout", choices=("sheet", "roll"), default="sheet")
    batch.add_argument("--paper", choices=sorted(PAPERS), default="A4")
    batch.add_argument(
        "--stamp-size", type=float, default=20.0,
        help=f"QR width with its quiet zone, mm ({MIN_STAMP_MM:g}-{MAX_STAMP_MM:g})",
    )  # fmt: skip
    batch.add_argument("--margin", type=float, help="page margin, mm (10 sheet, 1.5 roll)")
    batch.add_argument("--gap", type=float, default=3.0, help="gap between stamps, mm")
    batch.add_argument("--cut-marks", action="store_true", help="trim marks in the margins")
    batch.add_argument("--level", choices=("M", "Q"), default="M", help="QR error correction")
    batch.add_argument("--workers", type=int, default=2, help="signing processes")


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone, e.g. 2026-11-24T09:00:00+07:00")
    return moment


def _keys_generate(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        raise CommandError(f"{out} already exists; a key file is never overwritten")
    key = PrivateKey.generate()
    try:
        keyfiles.write_key(out, key, keyfiles.passphrase(confirm=True))
    except FileExistsError:
        raise CommandError(f"{out} already exists; a key file is never overwritten") from None
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror}") from None
    _print_public(out, key)
    return 0


def _keys_show(args: argparse.Namespace) -> int:
    try:
        key = keyfiles.read_key(args.file, keyfiles.passphrase())
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
    _print_public(args.file, key)
    return 0


def _keys_add(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    key_path: Path = args.key.resolve()
    if not key_path.is_relative_to(data_dir / "keys"):
        raise CommandError(f"put the key file under {data_dir / 'keys'} first")
    settings = _settings(data_dir)
    try:
        private = keyfiles.read_key(key_path, settings.passphrase)
    except OSError as exc:
        raise CommandError(f"cannot read {args.key}: {exc.strerror}") from None
    now = _now()
    today = vietnam_date(now)
    period = (args.not_before or today, args.not_after or add_months(today, 60))
    with _registry_write(settings, now) as session:
        key = registry.add_signing_key(
            session,
            actor=_operator(),
            authority_code=args.authority,
            public_key=private.public_key,
            period=period,
            key_file=str(key_path.relative_to(data_dir)),
            now=now,
        )
        print(f"key {key.index}: {args.authority}, stars {key.stars}, {period[0]} .. {period[1]}")
    print("trust list republished; restart `ocop serve` to sign with the new key")
    return 0


def _keys_retire(args: argparse.Namespace) -> int:
    now = _now()
    with _registry_write(_settings(args.data_dir), now) as session:
        key = registry.retire_signing_key(session, actor=_operator(), key_index=args.index, now=now)
        print(f"key {key.index} retired; serials above {key.last_serial} are now counterfeit")
    print("trust list republished")
    return 0


def _stamps_batch(args: argparse.Namespace) -> int:
    try:
        if args.layout == "roll":
            layout = Layout.roll(args.stamp_size, _or(args.margin, 1.5))
        else:
            margin = _or(args.margin, 10.0)
            layout = Layout.sheet(args.paper, args.stamp_size, margin, args.gap, args.cut_marks)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    outputs: dict[printing.Kind, Path] = {"pdf": args.out}
    if args.csv:
        outputs["csv"] = args.csv
    if args.zip:
        outputs["zip"] = args.zip
    for path in outputs.values():
        if not path.parent.is_dir():
            raise CommandError(f"the folder of {path} does not exist")
    now = _now()
    settings = _settings(args.data_dir)
    try:
        service = Service.start(settings, now)
    except (OSError, KeyLoadError) as exc:
        raise CommandError(f"cannot load the keys of {settings.data_dir}: {exc}") from None
    try:
        with service.write(now) as session:
            certificate = registry.get(session, Certificate, args.certificate)
            actor = registry.Actor(
                Role.AUTHORITY, _operator().label, authority_id=certificate.authority_id
            )
            batch = registry.allocate_batch(
                session, actor=actor, certificate_id=args.certificate, count=args.count, now=now
            )
            key = registry.get(session, SigningKey, batch.key_index)
            spec, source = printing.batch_source(
                service.settings, batch, certificate, key, now, with_pngs="zip" in outputs
            )
            title = f"OCOP {certificate.product.name} - {batch.count} stamps"
            first, last = batch.first_serial, batch.last_serial
        print(f"batch {batch.id}: serials {first}-{last} of key {batch.key_index} recorded",
              file=sys.stderr)  # fmt: skip
        progress = _Progress(batch.count)
        printing.write_files(
            spec, source, outputs, layout, title, workers=args.workers, progress=progress
        )
        progress.done()
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write the files: {exc}") from None
    finally:
        service.close()
    for kind, path in outputs.items():
        print(f"{kind}: {path} ({path.stat().st_size:,} bytes)")
    return 0


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


class _Progress:
    """A one-line progress bar on standard error."""

    def __init__(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()

    def __call__(self, done: int) -> None:
        width = 30
        filled = width * done // self.total
        rate = done / max(time.monotonic() - self.started, 1e-6)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} stamps, "
            f"{rate:,.0f}/s"
        )
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write(f" in {time.monotonic() - self.started:.1f} s\n")


def _scans_prune(args: argparse.Namespace) -> int:
    if args.older_than < 1:
        raise CommandError("--older-than must be at least 1 day")
    settings = _settings(args.data_dir)
    engine = make_engine(settings.database_url, writer=True)
    cutoff = _now() - timedelta(days=args.older_than)
    try:
        removed = prune_scans(engine, cutoff)
    finally:
        engine.dispose()
    print(f"{removed:,} scan events before {cutoff:%d/%m/%Y} removed; per-serial counts kept")
    return 0


_CHAINED = "intact: {n} entries, each chained to the one before"


def _audit_verify(args: argparse.Namespace) -> int:
    if args.data_dir is None and args.backup is None:
        raise CommandError("give --data-dir, --backup or both")
    reports: list[tuple[str, str, ChainReport]] = []
    if args.backup is not None:
        report = _read_backup(verify_backup, args.backup)
        reports.append((f"backup {args.backup}", _CHAINED, report))
    if args.data_dir is not None:
        reports += _live_log_reports(_settings(args.data_dir).database_url, args.backup)
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


def _backup(args: argparse.Namespace) -> int:
    settings = _settings(args.data_dir)
    now = _now()
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


def _restore(args: argparse.Namespace) -> int:
    settings = _settings(args.data_dir)
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


def _settings(data_dir: Path) -> Settings:
    try:
        return Settings.load(data_dir)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


@contextmanager
def _registry_write(settings: Settings, now: datetime) -> Iterator[Session]:
    """A registry write transaction that republishes the trust list, as the service does."""
    try:
        service = Service.start(settings, now)
    except (OSError, KeyLoadError) as exc:
        raise CommandError(f"cannot load the keys of {settings.data_dir}: {exc}") from None
    try:
        with service.write(now, keys_changed=True) as session:
            yield session
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    finally:
        service.close()


def _operator() -> registry.Actor:
    """The audit identity of whoever runs a registry command on the server."""
    return registry.Actor(Role.AUTHORITY, f"operator:{getpass.getuser()}")


def _print_public(path: Path, key: PrivateKey) -> None:
    print(f"file:       {path}")
    print(f"public key: {b64url_encode(key.public_key)}")
    print(f"key id:     {key_id(key.public_key)}")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read the {what} {path}: {exc.strerror}") from None


def _root_key(args: argparse.Namespace) -> bytes:
    if args.root_key:
        value = args.root_key.strip()
    elif args.data_dir:
        value = _read(args.data_dir / ROOT_KEY_FILE, "root public key").decode().strip()
    else:
        raise CommandError("give --data-dir, or --root-key with --trust-list and --status-list")
    try:
        raw = bytes.fromhex(value) if len(value) == 64 else b64url_decode(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise CommandError("the root public key must be 32 bytes in base64url or hex")
    return raw


def _lists(args: argparse.Namespace, now: datetime) -> tuple[TrustList, StatusList]:
    def path(explicit: Path | None, name: str) -> Path:
        if explicit is not None:
            return explicit
        if args.data_dir is None:
            raise CommandError(f"give --data-dir or the --{name.removesuffix('.json')} file")
        return Path(args.data_dir) / name

    root = [_root_key(args)]
    trust = _read(path(args.trust_list, TRUST_LIST_FILE), "trust list")
    status = _read(path(args.status_list, STATUS_LIST_FILE), "status list")
    try:
        return TrustList.verify(trust, root, now), StatusList.verify(status, root, now)
    except DocumentError as exc:
        raise CommandError(f"{exc.detail} ({exc.code}); fetch fresh signed lists") from None


def _stamp_text(argument: str) -> str:
    if argument == "-":
        return sys.stdin.read(4096)
    candidate = Path(argument)
    if "://" not in argument and len(argument) < 4096 and candidate.is_file():
        try:
            return decode_image(candidate.read_bytes())
        except ServiceError as exc:  # the photo is too large, unreadable or holds no QR code
            raise CommandError(f"{argument}: {exc.detail}") from None
    return argument


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """Return the verdict as the JSON object of the public contract (offline subset)."""
    stamp = verdict.stamp
    certificate = verdict.certificate
    key = verdict.key
    return {
        "verdict": verdict.verdict.value,
        "reasons": list(verdict.reasons),
        "notes": list(verdict.notes),
        "stamp": None
        if stamp is None
        else {
            "key_index": stamp.payload.key_index,
            "certificate_id": stamp.payload.certificate_id,
            "stars": stamp.payload.stars,
            "valid_until": stamp.payload.valid_until.isoformat(),
            "serial": stamp.payload.serial,
            "issuer": None if key is None else key.issuer,
            "issuer_name": None if key is None else key.issuer_name,
        },
        "certificate": None
        if certificate is None
        else {
            "issuer": certificate.ref.issuer,
            "certificate_id": certificate.ref.certificate_id,
            "status": certificate.status.value,
            "stars": certificate.stars,
            "valid_until": certificate.valid_until.isoformat(),
            "reason": certificate.reason,
            "decision": certificate.decision,
        },
        "lists": {
            "trust_list_version": verdict.trust_list_version,
            "status_list_version": verdict.status_list_version,
            "status_list_age_hours": None
            if verdict.status_list_age is None
            else round(verdict.status_list_age.total_seconds() / 3600, 1),
        },
        "message": every_language(VERDICTS[verdict.verdict]),
    }


def _print_verdict(verdict: Verdict, language: Language) -> None:
    print(f"{verdict.verdict.value.upper()}: {text(VERDICTS, verdict.verdict, language)}")
    for reason in verdict.reasons:
        print(f"  - {reason}: {text(REASONS, reason, language)}")
    if verdict.stamp is not None:
        p = verdict.stamp.payload
        summary = text(LABELS, "summary", language).format(
            stars=p.stars,
            certificate=p.certificate_id,
            serial=human_serial(p.key_index, p.serial),
            valid_until=f"{p.valid_until:%d/%m/%Y}",
            issuer=verdict.key.issuer_name if verdict.key else "?",
        )
        print(f"  {summary}")
    for note in verdict.notes:
        print(f"  ({text(NOTES, note, language)})")
    if verdict.status_list_age is not None:
        hours = verdict.status_list_age.total_seconds() / 3600
        age = text(LABELS, "lists_age", language)
        print(f"  {age.format(version=verdict.status_list_version, hours=hours)}")


def _verify(args: argparse.Namespace) -> int:
    now = args.at or _now()
    stamp_text = _stamp_text(args.stamp)
    if not args.offline:
        return _verify_online(args, stamp_text, now)
    trust_list, status_list = _lists(args, now)
    verdict = verify(stamp_text, trust_list, status_list, now, stars_seen=args.stars_seen)
    if args.json:
        print(json.dumps(verdict_json(verdict), ensure_ascii=False, indent=2))
    else:
        _print_verdict(verdict, args.lang)
    return EXIT_GENUINE if verdict.genuine else EXIT_NOT_GENUINE


def _verify_online(args: argparse.Namespace, stamp_text: str, now: datetime) -> int:
    """The registry's verdict, straight from the data directory's database (the scan is
    recorded with the role ``operator``)."""
    if args.data_dir is None:
        raise CommandError("give --data-dir to check against the registry, or pass --offline")
    try:
        service = Service.start(_settings(args.data_dir), now)
    except (OSError, KeyLoadError) as exc:
        raise CommandError(f"cannot load the keys of {args.data_dir}: {exc}") from None
    try:
        result = service.verify(stamp_text, now, stars_seen=args.stars_seen, role="operator")
    finally:
        service.close()
    if args.json:
        print(verdict_body(result, service.settings.public_host, indent=True).decode())
    else:
        _print_verdict(result.verdict, args.lang)
        certificate = result.certificate
        if certificate is not None:
            product = certificate.product
            print(
                f"  {product.name} · {certificate.producer.name} · {certificate.producer.address}"
            )
        scans = text(LABELS, "scans", args.lang).format(count=result.scans.count)
        print(f"  {scans}")
    return EXIT_GENUINE if result.verdict.genuine else EXIT_NOT_GENUINE


def _demo(args: argparse.Namespace) -> int:
    passphrase = os.environ.get(keyfiles.PASSPHRASE_VARIABLE) or DEMO_PASSPHRASE
    try:
        demo = create_demo(args.data_dir, passphrase.encode(), _now())
    except DemoExists as exc:
        raise CommandError(str(exc)) from None
    print(f"Demo ready in {args.data_dir}: tokens and sample stamps in {args.data_dir}/demo.json")
    print(f"Start it with: ocop serve --data-dir {args.data_dir}")
    for verdict, url in demo["stamp_urls"].items():
        print(f"  {verdict:26} {url[:60]}...")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    _settings(args.data_dir)
    os.environ["OCOP_DATA_DIR"] = str(args.data_dir.resolve())
    print(f"Serving on http://{args.host}:{args.port} (OpenAPI at /docs)", file=sys.stderr)
    uvicorn.run(
        "verifier.web.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG),
        access_log=False,
        # The service reads X-Forwarded-For itself, from OCOP_TRUSTED_PROXIES only.
        proxy_headers=False,
    )
    return 0


def _log_config(server: dict[str, Any]) -> dict[str, Any]:
    """Return the server's logging configuration ``server`` with the service's own lines (each
    error answer with its request id) written beside the server's."""
    loggers = {
        **server["loggers"],
        "verifier": {"handlers": ["default"], "level": "INFO", "propagate": False},
    }
    return {**server, "loggers": loggers}


_COMMANDS = {
    ("demo", None): _demo,
    ("serve", None): _serve,
    ("keys", "generate"): _keys_generate,
    ("keys", "show"): _keys_show,
    ("keys", "add"): _keys_add,
    ("keys", "retire"): _keys_retire,
    ("stamps", "batch"): _stamps_batch,
    ("audit", "verify"): _audit_verify,
    ("backup", None): _backup,
    ("restore", None): _restore,
    ("scans", "prune"): _scans_prune,
    ("verify", None): _verify,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ocop`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit
    status: 0 success (for ``verify``: genuine), 1 a verdict other than genuine, 2 an error."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    action = getattr(args, f"{args.command}_command", None)  # e.g. keys_command
    handler = _COMMANDS[(args.command, action)]
    try:
        return handler(args)
    except (CommandError, OcopError) as exc:
        print(f"ocop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
