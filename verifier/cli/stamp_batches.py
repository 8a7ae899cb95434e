"""``ocop stamps batch``: issue a batch of stamps for a certificate and write its files."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from stamps.print_files import FileKind
from stamps.sheet import (
    DEFAULT_GAP_MM,
    DEFAULT_MARGIN_MM,
    DEFAULT_PAPER,
    DEFAULT_STAMP_MM,
    MAX_STAMP_MM,
    MIN_GS1_STAMP_MM,
    MIN_STAMP_MM,
    PAPERS,
    Layout,
)
from verifier import registry
from verifier.cli.common import CommandError, load_settings, operator, start_service
from verifier.registry import MAX_BATCH
from verifier.service_errors import ServiceError
from verifier.signer import batch_files
from verifier.store.models import Certificate, Role


def add_parsers(commands: Any) -> None:
    """Add ``stamps batch`` to ``commands``, with its handler."""
    stamps = commands.add_parser("stamps", help="make print-ready stamps")
    stamp_commands = stamps.add_subparsers(dest="stamps_command", required=True, metavar="ACTION")
    batch = stamp_commands.add_parser(
        "batch",
        help="issue a batch of stamps for a certificate and write its PDF (and CSV, ZIP)",
        description="Allocates the serials in the registry first, then signs and lays out the "
        "stamps; files appear only when complete.",
    )
    batch.set_defaults(run=_stamps_batch)
    batch.add_argument("--data-dir", type=Path, required=True)
    batch.add_argument("--certificate", type=int, required=True, help="certificate id")
    batch.add_argument("--count", type=int, required=True, help=f"1 to {MAX_BATCH:,}")
    batch.add_argument("--out", type=Path, required=True, help="the PDF to write")
    batch.add_argument("--csv", type=Path, help="also write the CSV manifest")
    batch.add_argument("--zip", type=Path, help="also write a ZIP of one PNG per stamp")
    batch.add_argument("--layout", choices=("sheet", "roll"), default="sheet")
    batch.add_argument("--paper", choices=sorted(PAPERS), default=DEFAULT_PAPER)
    batch.add_argument(
        "--stamp-size", type=float, default=DEFAULT_STAMP_MM,
        help=f"QR width with its quiet zone, mm ({MIN_STAMP_MM:g}-{MAX_STAMP_MM:g})",
    )  # fmt: skip
    margins = ", ".join(f"{mm:g} {kind}" for kind, mm in DEFAULT_MARGIN_MM.items())
    batch.add_argument("--margin", type=float, help=f"page margin, mm ({margins})")
    batch.add_argument("--gap", type=float, default=DEFAULT_GAP_MM, help="gap between stamps, mm")
    batch.add_argument("--cut-marks", action="store_true", help="trim marks in the margins")
    batch.add_argument("--level", choices=("M", "Q"), default="M", help="QR error correction")
    batch.add_argument(
        "--form", choices=("decimal", "gs1"), default="decimal",
        help="the QR's text: https://HOST/s/DIGITS, or the GS1 Digital Link "
        "https://HOST/01/GTIN/21/...?8030=... (the product needs a GTIN; stamp size "
        f"{MIN_GS1_STAMP_MM:g} mm at least)",
    )  # fmt: skip
    batch.add_argument(
        "--claims", action="store_true",
        help="give every stamp a PIN for a one-time claim, printed in a panel under its label "
        "for scratch-off foil (and in the CSV's pin column, never in the ZIP)",
    )  # fmt: skip
    batch.add_argument("--workers", type=int, default=2, help="signing processes")


def _stamps_batch(args: argparse.Namespace, now: datetime) -> int:
    try:
        layout = Layout.of_kind(
            args.layout, args.paper, args.stamp_size, args.margin, args.gap, args.cut_marks
        )
        layout.check_form(args.form)
        if args.claims:
            layout = layout.with_pin_panels()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    outputs: dict[FileKind, Path] = {"pdf": args.out}
    if args.csv:
        outputs["csv"] = args.csv
    if args.zip:
        outputs["zip"] = args.zip
    for path in outputs.values():
        if not path.parent.is_dir():
            raise CommandError(f"the folder of {path} does not exist")
    service = start_service(load_settings(args.data_dir), now)
    try:
        with service.write() as session:
            certificate = registry.get(session, Certificate, args.certificate)
            actor = registry.Actor(
                Role.AUTHORITY, operator().label, authority_id=certificate.authority_id
            )
            batch = registry.allocate_batch(
                session, actor=actor, certificate_id=args.certificate, count=args.count, now=now,
                claims=args.claims,
            )  # fmt: skip
            # granted with the allocation (which chose a key in scope), and its key opened:
            # a key this server cannot use rolls the allocation back
            grant = registry.grant_signing(session, actor=actor, batch_id=batch.id, now=now)
            spec, source = batch_files.batch_source(
                service.settings, grant, now, with_pngs="zip" in outputs, form=args.form,
                error_correction=args.level,
            )  # fmt: skip
            title = f"OCOP {certificate.product.name} - {batch.count} stamps"
            first, last = batch.first_serial, batch.last_serial
        print(f"batch {batch.id}: serials {first}-{last} of key {batch.key_index} recorded",
              file=sys.stderr)  # fmt: skip
        progress = _Progress(batch.count)
        batch_files.write_files(
            spec, source, outputs, layout, title, workers=args.workers, progress=progress,
            pin_secret=batch.claim_secret,
        )  # fmt: skip
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
