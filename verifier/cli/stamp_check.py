"""``ocop verify``: check a stamp against the registry, or offline against the signed lists."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from signing import (
    DocumentError,
    StatusList,
    TrustList,
    Verdict,
    verify,
)
from signing.keys import b64url_decode
from stamps.sheet import human_serial
from verifier.cli.common import (
    EXIT_GENUINE,
    EXIT_NOT_GENUINE,
    STATUS_LIST_FILE,
    TRUST_LIST_FILE,
    CommandError,
    load_settings,
    read_file,
    start_service,
)
from verifier.i18n.catalogs import CATALOGS, SOURCE
from verifier.i18n.messages import LABELS, NOTES, REASONS, VERDICTS, Language, text
from verifier.service_errors import ServiceError
from verifier.settings import ROOT_PUBLIC_KEY_FILE
from verifier.web.qrimage import decode_image
from verifier.web.views import verdict_body


def add_parsers(commands: Any) -> None:
    """Add ``verify`` to ``commands``, with its handler."""
    check = commands.add_parser(
        "verify",
        help="check a stamp: exit 0 only when genuine",
        description="Check a stamp given as its URL, its 193 digits, or a photo of its QR code.",
    )
    check.set_defaults(run=_verify)
    check.add_argument("stamp", metavar="CODE_OR_URL_OR_IMAGE", help="'-' reads standard input")
    check.add_argument(
        "--data-dir",
        type=Path,
        help=f"holds {TRUST_LIST_FILE}, {STATUS_LIST_FILE} and {ROOT_PUBLIC_KEY_FILE}",
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


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone, e.g. 2026-11-24T09:00:00+07:00")
    return moment


def _root_key(args: argparse.Namespace) -> bytes:
    if args.root_key:
        value = args.root_key.strip()
    elif args.data_dir:
        value = read_file(args.data_dir / ROOT_PUBLIC_KEY_FILE, "root public key").decode().strip()
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
    trust = read_file(path(args.trust_list, TRUST_LIST_FILE), "trust list")
    status = read_file(path(args.status_list, STATUS_LIST_FILE), "status list")
    try:
        return TrustList.verify(trust, root, now), StatusList.verify(status, root, now)
    except DocumentError as exc:
        raise CommandError(f"{exc.detail} ({exc.code}); fetch fresh signed lists") from None


def _stamp_text(argument: str, language: Language) -> str:
    """Return the stamp text ``argument`` gives: itself, standard input's for ``-``, or the
    QR code's in the photo it names. Raises :class:`CommandError`, worded in ``language``,
    when that photo is too large, unreadable or holds no QR code."""
    if argument == "-":
        return sys.stdin.read(4096)
    candidate = Path(argument)
    if "://" not in argument and len(argument) < 4096 and candidate.is_file():
        try:
            return decode_image(candidate.read_bytes())
        except ServiceError as exc:
            words = exc.messages[language] if exc.messages else exc.detail
            raise CommandError(f"{argument}: {words}") from None
    return argument


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


def _verify(args: argparse.Namespace, now: datetime) -> int:
    now = args.at or now
    stamp_text = _stamp_text(args.stamp, args.lang)
    if not args.offline:
        return _verify_online(args, stamp_text, now)
    trust_list, status_list = _lists(args, now)
    verdict = verify(stamp_text, trust_list, status_list, now, stars_seen=args.stars_seen)
    if args.json:
        print(verdict_body(verdict, None, indent=True).decode())
    else:
        _print_verdict(verdict, args.lang)
    return EXIT_GENUINE if verdict.genuine else EXIT_NOT_GENUINE


def _verify_online(args: argparse.Namespace, stamp_text: str, now: datetime) -> int:
    """The registry's verdict, straight from the data directory's database (the scan is
    recorded with the role ``operator``)."""
    if args.data_dir is None:
        raise CommandError("give --data-dir to check against the registry, or pass --offline")
    service = start_service(load_settings(args.data_dir), now)
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
