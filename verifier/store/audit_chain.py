"""The audit log as a hash chain: each entry's hash covers its content and the previous
entry's hash, and the head (last sequence and hash) is kept apart, so an edited, deleted or
reordered row is found by :func:`verify_chain`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, type_coerce
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from verifier.store.models import AuditEntry, Meta

HEAD_KEY = "audit_head"
GENESIS = "0" * 64


def entry_hash(
    sequence: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    details: dict[str, Any],
    previous: str,
) -> str:
    """Return the SHA-256 (hex) of an entry's content and its predecessor's hash."""
    content = [
        sequence,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        actor,
        action,
        entity,
        entity_id,
        details,
        previous,
    ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_head(value: str) -> tuple[int, str]:
    """Return the (last sequence, its hash) that the head ``"sequence:hash"`` names."""
    sequence, digest = value.split(":")
    return int(sequence), digest


def _head(session: Session) -> tuple[int, str]:
    row = session.get(Meta, HEAD_KEY, with_for_update=True)
    return (0, GENESIS) if row is None else parse_head(row.value)


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    details: dict[str, Any],
) -> AuditEntry:
    """Append an entry after the current head, which stays locked until the transaction ends
    (so concurrent writers take turns and the chain never forks)."""
    last, previous = _head(session)
    sequence = last + 1
    digest = entry_hash(sequence, at, actor, action, entity, entity_id, details, previous)
    entry = AuditEntry(
        sequence=sequence, at=at, actor=actor, action=action, entity=entity,
        entity_id=entity_id, details=details, previous_hash=previous, hash=digest,
    )  # fmt: skip
    session.add(entry)
    session.merge(Meta(key=HEAD_KEY, value=f"{sequence}:{digest}"))
    return entry


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What :func:`verify_chain` found: how many entries it checked, and the first break."""

    entries: int
    broken_at: int | None = None  # the sequence number of the first broken link
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session) -> ChainReport:
    """Check the database's audit log and its head; see :func:`check_entries`. A log that
    cannot be read (a row whose columns do not parse, a head that is not ``sequence:hash``, a
    table the database fails to read) is reported as broken there, never raised."""
    try:
        head = session.get(Meta, HEAD_KEY)
        last = None if head is None else parse_head(head.value)
    except (DBAPIError, ValueError) as exc:
        session.rollback()  # PostgreSQL refuses any further read in a failed transaction
        report = check_entries(_stored_entries(session), None)
        if not report.intact:
            return report
        problem = f"the log's head (kept apart from the entries) cannot be read: {first_line(exc)}"
        return ChainReport(report.entries, report.entries + 1, problem)
    return check_entries(_stored_entries(session), last)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A place in the log that cannot be read as an entry: a corrupt row, or the point where
    the database failed to read the table further."""

    problem: str


_RAW_COLUMNS = [type_coerce(c, NullType()).label(c.name) for c in AuditEntry.__table__.columns]


def _stored_entries(session: Session) -> Iterator[AuditEntry | Unreadable]:
    """Yield the log's entries in sequence order, each row read column by column (so that a
    corrupt one is named instead of failing the whole read); an :class:`Unreadable` ends it."""
    dialect = session.get_bind().dialect
    readers: dict[str, Callable[[Any], Any] | None] = {
        c.name: c.type.dialect_impl(dialect).result_processor(dialect, None)
        for c in AuditEntry.__table__.columns
    }
    for row in _raw_rows(session):
        if isinstance(row, Unreadable):
            yield row
            return
        try:
            yield AuditEntry(**_typed_columns(row, readers))
        except _BadColumn as exc:
            yield Unreadable(f"row id {row['id']!r}: {exc}")
            return


def _raw_rows(session: Session) -> Iterator[dict[str, Any] | Unreadable]:
    """Yield the log's rows in sequence order as the driver reads them; an error of the
    database (a corrupt page) ends them with an :class:`Unreadable`."""
    try:
        for row in session.execute(select(*_RAW_COLUMNS).order_by(AuditEntry.sequence)):
            yield row._asdict()
    except DBAPIError as exc:
        yield Unreadable(f"the database cannot read the table: {first_line(exc)}")


class _BadColumn(ValueError):
    pass


_TEXT_COLUMNS = ("actor", "action", "entity", "entity_id", "previous_hash", "hash")
_KINDS: dict[str, tuple[type, str]] = {
    "id": (int, "a number"), "sequence": (int, "a number"), "at": (datetime, "a time"),
    "details": (dict, "a JSON object"), **dict.fromkeys(_TEXT_COLUMNS, (str, "text")),
}  # fmt: skip


def _typed_columns(
    raw: dict[str, Any], readers: dict[str, Callable[[Any], Any] | None]
) -> dict[str, Any]:
    """Return a raw audit row as its columns' values, each read by its type's reader for this
    database. Raises :class:`_BadColumn` naming the first column whose value cannot be read
    or is not of its kind."""
    values = {}
    for name, value in raw.items():
        reader = readers[name]
        try:
            values[name] = value if reader is None else reader(value)
        except (ValueError, TypeError, AttributeError) as exc:
            raise _BadColumn(f"{name} cannot be read: {value!r:.40} ({exc})") from None
        kind, wording = _KINDS[name]
        if not isinstance(values[name], kind):
            raise _BadColumn(f"{name} is not {wording}: {value!r:.40}")
    return values


def first_line(exc: BaseException) -> str:
    """Return the first line of an error's message (drivers append the statement and a link)."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


def check_entries(
    entries: Iterable[AuditEntry | Unreadable], head: tuple[int, str] | None
) -> ChainReport:
    """Check entries given in sequence order against each other and the head (last sequence
    and hash). Returns the number checked and the first break: an entry that cannot be read
    (corrupt), an entry whose content no longer matches its hash (edited), a sequence number
    missing (deleted), an entry that does not follow its predecessor (reordered or removed),
    or a head that points past the last entry (entries removed at the end)."""
    expected, previous, checked = 1, GENESIS, 0
    for entry in entries:
        if isinstance(entry, Unreadable):
            return ChainReport(
                checked, expected, f"entry {expected} cannot be read: {entry.problem}"
            )
        if entry.sequence != expected:
            return ChainReport(checked, expected, f"entry {expected} is missing (deleted)")
        if entry.previous_hash != previous:
            return ChainReport(
                checked, entry.sequence,
                f"entry {entry.sequence} does not follow entry {expected - 1} "
                "(entries reordered or replaced)",
            )  # fmt: skip
        digest = entry_hash(
            entry.sequence, entry.at, entry.actor, entry.action, entry.entity,
            entry.entity_id, entry.details, entry.previous_hash,
        )  # fmt: skip
        if digest != entry.hash:
            return ChainReport(
                checked, entry.sequence, f"entry {entry.sequence} was altered after it was written"
            )
        previous, expected, checked = entry.hash, expected + 1, checked + 1
    if head is not None and (head[0] != checked or head[1] != previous):
        return ChainReport(
            checked, checked + 1,
            f"the log ends at entry {checked} but its head says {head[0]} (entries removed)",
        )  # fmt: skip
    return ChainReport(checked)
