"""Officials' checks as inspection events, aggregated so that no person can be told apart.

A signed-in inspector's (or authority's) check is recorded with its token and, from the
scanner page, a place rounded to about 1 km. None of that leaves: the checks of one batch in
one province on one day (Vietnam time) become one event that says how many stamps were checked,
how many times, and with what verdicts. The province is the one whose administrative centre is
nearest to the recorded place (or the one it names); a check without a place counts in the
producer's province. Only days that have ended are exported, so an event never changes once
exported. Buyers' and producers' checks are never read."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing.dates import vietnam_date
from verifier.provinces import nearest, province
from verifier.scans.clones import place_of
from verifier.store.models import Batch, Certificate, Lot, Scan
from verifier.traceability.epcis import Event, Identifiers, inspection, vietnam_midnight

__all__ = ["INSPECTION_ROLES", "inspection_events", "province_of"]

# the roles whose checks are inspections: officials, each signed in with a token the authority
# issued (a buyer's check is "public", a producer's own is "producer": neither is exported)
INSPECTION_ROLES = ("inspector", "authority")
# a place farther than this from every province's centre is not in Vietnam (Trường Sa is some
# 500 km from Khánh Hòa's): its check counts in the producer's province
ABROAD_KM = 600.0

LotsOf = Callable[[Session, Sequence[int]], dict[int, list[Lot]]]


def province_of(location: str | None, fallback: str) -> str:
    """Return the province code of a check's recorded ``location`` (``"lat,lon"``: the
    province with the nearest centre; a province code: itself), or ``fallback`` when it has
    none, or none in Vietnam."""
    place = place_of(location)
    if place is None:
        return fallback
    name, point = place
    if point is None:
        return name[1:] if province(name[1:]) is not None else fallback
    found, distance = nearest(*point)
    return found.code if distance <= ABROAD_KM else fallback


@dataclass
class _Group:
    """The checks of one batch in one province on one day."""

    serials: set[int] = field(default_factory=set)
    verdicts: Counter[str] = field(default_factory=Counter)


def inspection_events(
    session: Session,
    *,
    ids: Identifiers,
    since: datetime | None,
    until: datetime,
    limit: int | None,
    lots_of: LotsOf,
) -> tuple[list[Event], datetime | None]:
    """Return the inspection events of the officials' checks made from ``since`` (if given)
    up to ``until`` (the first instant of a day in Vietnam; the days before it are whole),
    reading at most ``limit`` checks in time order, and, when the limit cut the reading
    short, the instant before which the events are complete (the first instant of the day of
    the last check read); ``None`` when they are all there. ``lots_of`` gives each batch's
    lots."""
    query = select(Scan.at, Scan.key_index, Scan.serial, Scan.verdict, Scan.location).where(
        Scan.role.in_(INSPECTION_ROLES), Scan.at < until, Scan.key_index.is_not(None),
        Scan.serial.is_not(None),
    )  # fmt: skip
    if since is not None:
        query = query.where(Scan.at >= since)
    rows = session.execute(query.order_by(Scan.at, Scan.id).limit(limit)).all()
    horizon = None
    if limit is not None and len(rows) == limit:
        horizon = _midnight_of(rows[-1].at)
    batches = _batches_of(session, [(row.key_index, row.serial) for row in rows])
    groups: dict[tuple[date, str, int], _Group] = {}
    for row in rows:
        found = batches.get((row.key_index, row.serial))
        if found is None:
            continue  # a serial no batch holds (the registry changed by hand): nothing to say
        batch, certificate = found
        where = province_of(row.location, certificate.product.producer.province_code)
        group = groups.setdefault((vietnam_date(row.at), where, batch.id), _Group())
        group.serials.add(row.serial)
        group.verdicts[str(row.verdict)] += 1
    by_id = {batch.id: (batch, certificate) for batch, certificate in batches.values()}
    lots = lots_of(session, list(by_id))
    events = []
    for (day, where, batch_id), group in groups.items():
        batch, certificate = by_id[batch_id]
        events.append(inspection(
            ids, day=day, province_code=where, batch=batch, certificate=certificate,
            lots=lots.get(batch_id, []), stamps=len(group.serials), verdicts=group.verdicts,
        ))  # fmt: skip
    return events, horizon


def _midnight_of(moment: datetime) -> datetime:
    return vietnam_midnight(vietnam_date(moment))


def _batches_of(
    session: Session, serials: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], tuple[Batch, Certificate]]:
    """Return the batch (and its certificate) of each (key index, serial) that one holds: one
    query per key, for the batches that overlap the serials checked."""
    by_key: dict[int, set[int]] = {}
    for key_index, serial in serials:
        by_key.setdefault(key_index, set()).add(serial)
    found: dict[tuple[int, int], tuple[Batch, Certificate]] = {}
    for key_index, wanted in by_key.items():
        query = (
            select(Batch, Certificate).join(Certificate, Certificate.id == Batch.certificate_id)
            .where(Batch.key_index == key_index, Batch.last_serial >= min(wanted),
                   Batch.first_serial <= max(wanted))
            .order_by(Batch.first_serial)
        )  # fmt: skip
        rows: list[Any] = list(session.execute(query).all())
        firsts = [batch.first_serial for batch, _ in rows]
        for serial in wanted:
            at = bisect_right(firsts, serial) - 1
            if at >= 0 and serial <= rows[at][0].last_serial:
                found[key_index, serial] = rows[at]
    return found
