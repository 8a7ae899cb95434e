"""What the authority's desk looks into: one serial's file (its scans, places and batch) and
the batches whose stamps look copied or travel far from where they are sold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from verifier import provinces
from verifier.i18n.messages import PLACES, text
from verifier.registry import Actor, key_indexes_of, require_key
from verifier.scans import clones
from verifier.store.models import (
    Batch,
    BatchState,
    BlockedSerials,
    Certificate,
    Role,
    Scan,
    SerialScans,
)

__all__ = ["BatchFinding", "Place", "SerialFile", "flagged_batches", "place_label", "serial_file"]

HISTORY = 50  # scan events shown on a serial's file ...
HISTORY_DAYS = 30  # ... from the 30 days up to its last check


@dataclass(frozen=True, slots=True)
class Place:
    """Where some of a serial's scans came from, without a map."""

    label: str  # "Hà Nội" or "near Hà Nội (21.03, 105.85)"
    scans: int
    phones: int


@dataclass(frozen=True, slots=True)
class SerialFile:
    """One serial as the desk shows it."""

    key_index: int
    serial: int
    scans: SerialScans | None
    batch: Batch | None
    certificate: Certificate | None
    blocks: list[BlockedSerials]
    history: list[Scan]
    places: list[Place] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchFinding:
    """A batch with several serials that look copied or were scanned far from its markets."""

    batch: Batch
    certificate: Certificate
    flagged: int
    away: int


def place_label(location: str | None, language: str, *, precise: bool = True) -> str | None:
    """Return a plain name for a scan's coarse location: the province for a province code,
    "near" the nearest province's centre for coordinates (with them when ``precise``);
    ``None`` when there is no location."""
    place = clones.place_of(location)
    if place is None:
        return None
    if place[1] is None:
        known = provinces.province(place[0][1:])
        return known.name if known else place[0][1:]
    latitude, longitude = place[1]
    near, _ = provinces.nearest(latitude, longitude)
    where = f" ({latitude:.2f}, {longitude:.2f})" if precise else ""
    return text(PLACES, "near", language).format(place=near.name) + where


def serial_file(
    session: Session, actor: Actor, key_index: int, serial: int, language: str
) -> SerialFile:
    """Return a serial's file: its aggregate, batch and certificate, the blocks that cover it,
    its latest scans and where its scans came from. Raises :class:`Forbidden` for anyone but
    the authority of the serial's key (or the central council)."""
    actor.require(Role.AUTHORITY)
    require_key(
        session, actor=actor, key_index=key_index, refusal="this serial is another authority's"
    )
    covers = and_(Batch.key_index == key_index, Batch.first_serial <= serial,
                  Batch.last_serial >= serial)  # fmt: skip
    batch = session.scalars(select(Batch).where(covers)).first()
    blocks = session.scalars(
        select(BlockedSerials).where(
            BlockedSerials.key_index == key_index,
            BlockedSerials.first_serial <= serial,
            BlockedSerials.last_serial >= serial,
        )
    ).all()
    scans = session.get(SerialScans, (key_index, serial))
    history: Sequence[Scan] = []
    if scans is not None:
        # walk the time index back from the serial's last check (no index by serial, see
        # models.Scan), within HISTORY_DAYS of it
        since = max(scans.first_at, scans.last_at - timedelta(days=HISTORY_DAYS))
        history = session.scalars(
            select(Scan)
            .where(Scan.at.between(since, scans.last_at))
            .where(Scan.key_index == key_index, Scan.serial == serial)
            .order_by(Scan.at.desc())
            .limit(HISTORY)
        ).all()
    counts = Counter[str]()
    phones: dict[str, set[str | None]] = {}
    for event in history:
        label = place_label(event.location, language, precise=False)
        if label is None:
            continue
        counts[label] += 1
        phones.setdefault(label, set()).add(event.device_id)
    places = [Place(label, n, len(phones[label] - {None})) for label, n in counts.most_common()]
    return SerialFile(
        key_index=key_index,
        serial=serial,
        scans=scans,
        batch=batch,
        certificate=session.get(Certificate, batch.certificate_id) if batch else None,
        blocks=list(blocks),
        history=list(history),
        places=places,
    )


def flagged_batches(
    session: Session, actor: Actor, rules: clones.CloneRules = clones.RULES, limit: int = 50
) -> list[BatchFinding]:
    """Return the actor's issued batches with at least ``rules.batch_serials`` serials that
    broke a clone rule or were scanned far from the batch's markets, the most first."""
    actor.require(Role.AUTHORITY)
    flagged = func.sum(case((SerialScans.flag.is_not(None), 1), else_=0))
    away = func.sum(case((SerialScans.away, 1), else_=0))
    query = (
        select(Batch, Certificate, flagged, away)
        .join(Certificate, Certificate.id == Batch.certificate_id)
        .join(
            SerialScans,
            and_(
                SerialScans.key_index == Batch.key_index,
                SerialScans.serial.between(Batch.first_serial, Batch.last_serial),
            ),
        )
        .where(Batch.state == BatchState.ISSUED)
        .where(or_(SerialScans.flag.is_not(None), SerialScans.away))
        .group_by(Batch.id, Certificate.id)
        .having(func.count() >= rules.batch_serials)
        .order_by(func.count().desc())
        .limit(limit)
    )
    keys = key_indexes_of(session, actor=actor)
    if keys is not None:
        query = query.where(Batch.key_index.in_(keys))
    return [BatchFinding(b, c, int(f), int(a)) for b, c, f, a in session.execute(query)]
