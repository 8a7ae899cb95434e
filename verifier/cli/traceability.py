"""``ocop traceability export``: the stamps' and lots' lifecycle as one EPCIS 2.0 document
(JSON-LD), for the national portal and buyers' systems (docs/traceability.md)."""

from __future__ import annotations

import argparse
import os
from contextlib import suppress
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from verifier.cli.common import CommandError, load_settings
from verifier.store.audit_chain import first_line
from verifier.store.database import make_engine, session_factory
from verifier.traceability import Identifiers, epcis_document, event_page, event_query
from verifier.traceability.epcis import vietnam_midnight

EXPORT_PAGE = 1000  # events read at a time: the export's memory does not grow with the registry


def add_parsers(commands: Any) -> None:
    """Add ``traceability export`` to ``commands``, with its handler."""
    family = commands.add_parser("traceability", help="the stamps' and lots' lifecycle (EPCIS 2.0)")
    actions = family.add_subparsers(dest="traceability_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="write every event (or those since a day) as an EPCIS 2.0 JSON-LD document"
    )
    export.set_defaults(run=_export)
    export.add_argument("--data-dir", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True, metavar="FILE.jsonld")
    export.add_argument(
        "--since", type=_day, metavar="DATE",
        help="only the events from this day on, Vietnam time (dd/mm/yyyy or yyyy-mm-dd)",
    )  # fmt: skip


def _day(text: str) -> date:
    """Return the day ``text`` names, ``dd/mm/yyyy`` or ``yyyy-mm-dd``, in 2000-2999. Raises
    ``argparse.ArgumentTypeError`` for anything else."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
        if 2000 <= day.year < 3000:
            return day
    raise argparse.ArgumentTypeError(f"not a day from 2000 on: {text!r} (dd/mm/yyyy or yyyy-mm-dd)")


def _export(args: argparse.Namespace, now: datetime) -> int:
    settings = load_settings(args.data_dir)
    ids = Identifiers(settings.public_host)
    since = None if args.since is None else vietnam_midnight(args.since)
    out: Path = args.out
    part = out.with_name(out.name + ".part")  # the file appears only once complete
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session, part.open("wb") as file:
            count = _write(file, session, ids=ids, since=since, now=now)
        os.replace(part, out)
    except OSError as exc:
        _discard(part)
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    except DBAPIError as exc:
        _discard(part)
        raise CommandError(f"cannot read the registry: {first_line(exc)}") from None
    finally:
        engine.dispose()
    print(f"{count:,} EPCIS events written to {out}")
    return 0


def _discard(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


def _write(
    file: IO[bytes], session: Session, *, ids: Identifiers, since: datetime | None, now: datetime
) -> int:
    """Write the EPCIS document of the events from ``since`` on to ``file``, one event a line,
    reading them a page at a time; return how many."""
    head = orjson.dumps(epcis_document(ids, [], now))
    opening, closing = head.split(b'"eventList":[]', 1)
    file.write(opening + b'"eventList":[')
    query, count = event_query(since=since, per_page=EXPORT_PAGE), 0
    while True:
        page = event_page(session, ids=ids, query=query, now=now)
        for event in page.events:
            file.write(b"\n" if count == 0 else b",\n")
            file.write(orjson.dumps(event.body))
            count += 1
        session.expunge_all()  # the rows of the page are done with
        if not page.more:
            break
        query = replace(query, after=page.events[-1].key)
    file.write(b"\n]" + closing + b"\n")
    return count
