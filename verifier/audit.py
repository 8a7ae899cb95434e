"""The audit log as a hash chain: each entry's hash covers its content and the previous
entry's hash, and the head (last sequence and hash) is kept apart, so an edited, deleted or
reordered row is found by :func:`verify_chain`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.models import AuditEntry, Meta

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
    """Check the database's audit log and its head; see :func:`check_entries`."""
    head = session.get(Meta, HEAD_KEY)
    last = None if head is None else parse_head(head.value)
    return check_entries(session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)), last)


def check_entries(entries: Iterable[AuditEntry], head: tuple[int, str] | None) -> ChainReport:
    """Check entries given in sequence order against each other and the head (last sequence
    and hash). Returns the number checked and the first break: an entry whose content no
    longer matches its hash (edited), a sequence number missing (deleted), an entry that does
    not follow its predecessor (reordered or removed), or a head that points past the last
    entry (entries removed at the end)."""
    expected, previous, checked = 1, GENESIS, 0
    for entry in entries:
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
