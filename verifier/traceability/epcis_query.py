"""The EPCIS events the registry holds, a page at a time, in time order: the answer to the
REST binding's events query (``GE_eventTime``, ``LT_eventTime``, ``eventType``, ``perPage``,
``nextPageToken``) and, page after page, the whole export.

Events are ordered by (``eventTime``, ``eventID``). Each page reads from each kind of fact
only what it may need: the rows from its lower bound on, in time order, a few more than a page
(the lots alone are read whole from the last time they changed, since a stage's time is the
producer's to declare). A page token is the (time, id) of the page's last event, base64url:
whoever alters one only starts the public record at another point, and one that does not parse
is refused."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from signing import CertificateState
from signing.dates import format_time, parse_time, vietnam_date
from verifier.service_errors import Invalid
from verifier.store.models import Batch, BatchLot, Certificate, Lot
from verifier.traceability.epcis import (
    EVENT_TYPES,
    Event,
    Identifiers,
    commissioning,
    decommissioning,
    recall,
    stage_events,
    vietnam_midnight,
)
from verifier.traceability.inspections import inspection_events

__all__ = ["MAX_PER_PAGE", "EventPage", "EventQuery", "event_page", "event_query", "page_token"]

MAX_PER_PAGE = 1000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no fact of the registry is older
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
# a stage may be dated up to an hour after it is declared (verifier.registry.lots), so a lot
# whose stages reach a time changed at most this long before it
STAGE_SLACK = timedelta(hours=1)
_IN_LIST = 500  # ids in one IN (...) list: SQLite allows a few thousand variables a query
_EVENT_ID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MORE = 8  # how much more a page reads when what it read was not enough for a page


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events, from where: ``since`` (inclusive) and ``until`` (exclusive), whole
    seconds; the event ``types`` (``None``: all); those after the event ``after`` (a page
    token's); ``per_page`` at most."""

    since: datetime | None = None
    until: datetime | None = None
    types: frozenset[str] | None = None
    after: tuple[datetime, str] | None = None
    per_page: int = 100

    def wants(self, event: Event) -> bool:
        """Return whether ``event`` answers the query (its page aside)."""
        return (
            (self.since is None or event.time >= self.since)
            and (self.until is None or event.time < self.until)
            and (self.after is None or event.key > self.after)
            and (self.types is None or event.type in self.types)
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    """A page of events, and whether more follow (then a token for the next page is
    :func:`page_token` of the last event's key)."""

    events: list[Event]
    more: bool


def event_query(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    types: Iterable[str] | None = None,
    token: str | None = None,
    per_page: int = 100,
) -> EventQuery:
    """Return the query of a request's parameters: times cut to the whole second, event types
    given as repeated names or comma-separated. Raises :class:`Invalid` for a time without a
    zone or outside 2000-2999, an event type EPCIS 2.0 does not define, a ``per_page``
    outside 1 to :data:`MAX_PER_PAGE`, or a token this service did not give."""
    bounds = [
        None if t is None else _second(t, "GE_eventTime/LT_eventTime") for t in (since, until)
    ]
    names = None
    if types is not None:
        names = frozenset(n.strip() for text in types for n in text.split(",") if n.strip())
        unknown = sorted(names - set(EVENT_TYPES))
        if unknown:
            raise Invalid(f"eventType: not an EPCIS 2.0 event type: {unknown[0][:40]!r} "
                          f"(one of {', '.join(EVENT_TYPES)})")  # fmt: skip
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid(f"perPage: from 1 to {MAX_PER_PAGE}")
    after = None if token is None else _read_token(token)
    return EventQuery(bounds[0], bounds[1], names, after, per_page)


def _second(moment: datetime, what: str) -> datetime:
    """Return ``moment`` in UTC cut to the second. Raises :class:`Invalid` for a naive time or
    one outside :data:`EARLIEST` to :data:`LATEST`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(f"{what}: give the time with its zone (Z or +07:00)")
    if not EARLIEST <= moment < LATEST:
        raise Invalid(f"{what}: a time from the year 2000 to 2999")
    return moment.astimezone(UTC).replace(microsecond=0)


def page_token(key: tuple[datetime, str]) -> str:
    """Return the token of the page that follows the event whose key is ``key``."""
    text = json.dumps([format_time(key[0]), key[1]], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _read_token(token: str) -> tuple[datetime, str]:
    """Return the event key a :func:`page_token` holds. Raises :class:`Invalid` for anything
    else."""
    refused = Invalid("nextPageToken: not a token this service gave (ask again without it)")
    try:
        moment, event_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        at = _second(parse_time(moment), "nextPageToken")
    except (ValueError, TypeError, Invalid):
        raise refused from None
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise refused
    return at, event_id


def event_page(
    session: Session, *, ids: Identifiers, query: EventQuery, now: datetime
) -> EventPage:
    """Return the first ``query.per_page`` events that answer ``query``, in time order, as the
    registry holds them at ``now`` (inspections of the days before ``now``'s in Vietnam)."""
    # a quarter more than a page: rows at the same time as the last one read are left for the
    # next page, and the registry records many at one time (batches ordered at 09:00)
    limit: int | None = query.per_page + 1 + query.per_page // 4
    while True:
        events, horizon = _events(session, ids=ids, query=query, now=now, limit=limit)
        if horizon is None:  # every event of the query is there
            chosen = sorted((e for e in events if query.wants(e)), key=lambda e: e.key)
            return EventPage(chosen[: query.per_page], more=len(chosen) > query.per_page)
        wanted = [e for e in events if query.wants(e)]
        chosen = sorted((e for e in wanted if e.time < horizon), key=lambda e: e.key)
        beyond = len(chosen) < len(wanted)  # one is known to follow those before the horizon
        if len(chosen) > query.per_page or (len(chosen) == query.per_page and beyond):
            return EventPage(chosen[: query.per_page], more=True)
        # fewer than a page before the horizon (many rows at one time): read more of each
        limit = None if limit is None or limit >= 64 * MAX_PER_PAGE else limit * _MORE


def _events(
    session: Session, *, ids: Identifiers, query: EventQuery, now: datetime, limit: int | None
) -> tuple[list[Event], datetime | None]:
    """Return the events of every kind ``query`` may want from its lower bound on, reading
    at most ``limit`` rows of each kind but the lots, and the time before which they are
    complete (``None``: all of them up to the query's end)."""
    lower = query.since
    if query.after is not None and (lower is None or query.after[0] > lower):
        lower = query.after[0]
    window = (lower, query.until)
    found: list[Event] = []
    horizons: list[datetime] = []

    def take(result: tuple[list[Event], datetime | None]) -> None:
        found.extend(result[0])
        if result[1] is not None:
            horizons.append(result[1])

    if query.types is None or "ObjectEvent" in query.types:
        take(_batch_events(session, ids, Batch.created_at, commissioning, window, limit))
        take(_batch_events(session, ids, Batch.voided_at, decommissioning, window, limit))
        take(_recalls(session, ids, window, limit))
        end = vietnam_midnight(vietnam_date(now))  # only whole days of checks
        if query.until is not None:
            end = min(end, vietnam_midnight(vietnam_date(query.until - timedelta(seconds=1))
                                            + timedelta(days=1)))  # fmt: skip
        take(inspection_events(session, ids=ids, since=lower, until=end, limit=limit,
                               lots_of=lots_of_batches))  # fmt: skip
    if query.types is None or "TransformationEvent" in query.types:
        found.extend(_stages(session, ids, lower))
    return found, min(horizons, default=None)


Window = tuple[datetime | None, datetime | None]
BatchEvent = Callable[..., Event]


def _between(column: Any, window: Window) -> list[ColumnElement[bool]]:
    lower, upper = window
    return [c for c in (None if lower is None else column >= lower,
                        None if upper is None else column < upper) if c is not None]  # fmt: skip


def _batch_events(
    session: Session,
    ids: Identifiers,
    column: InstrumentedAttribute[Any],
    build: BatchEvent,
    window: Window,
    limit: int | None,
) -> tuple[list[Event], datetime | None]:
    """Return the events ``build`` makes of the batches whose ``column`` (a time) falls in
    ``window``, at most ``limit`` in time order, and the time before which they are complete
    when the limit cut them short."""
    query = (
        select(Batch, Certificate).join(Certificate, Certificate.id == Batch.certificate_id)
        .where(column.is_not(None), *_between(column, window))
        .order_by(column, Batch.id).limit(limit)
    )  # fmt: skip
    rows = list(session.execute(query).all())
    horizon = None
    if limit is not None and len(rows) == limit:
        horizon = getattr(rows[-1][0], column.key).astimezone(UTC).replace(microsecond=0)
    lots = lots_of_batches(session, [batch.id for batch, _ in rows])
    events = [build(ids, batch=batch, certificate=certificate, lots=lots.get(batch.id, []))
              for batch, certificate in rows]  # fmt: skip
    return events, horizon


def _recalls(
    session: Session, ids: Identifiers, window: Window, limit: int | None
) -> tuple[list[Event], datetime | None]:
    """Return the recalls of the certificates revoked in ``window`` (their decision's day),
    at most ``limit`` in time order, and the time before which they are complete when the
    limit cut them short."""
    lower, upper = window
    day = Certificate.revocation_date
    query = select(Certificate).where(Certificate.status == CertificateState.REVOKED,
                                      day.is_not(None))  # fmt: skip
    if lower is not None:
        query = query.where(day >= vietnam_date(lower))
    if upper is not None:
        query = query.where(day <= vietnam_date(upper - timedelta(seconds=1)))
    certificates = list(session.scalars(query.order_by(day, Certificate.id).limit(limit)))
    horizon = None
    if limit is not None and len(certificates) == limit:
        last = certificates[-1].revocation_date
        horizon = None if last is None else vietnam_midnight(last).astimezone(UTC)
    lots = _lots_of_certificates(session, [c.id for c in certificates])
    return [recall(ids, certificate=c, lots=lots.get(c.id, [])) for c in certificates], horizon


def _stages(session: Session, ids: Identifiers, lower: datetime | None) -> list[Event]:
    """Return the transformation events of the lots that may have a stage from ``lower`` on
    (all of their stages: the caller keeps those it wants)."""
    query = select(Lot).order_by(Lot.id)
    if lower is not None:
        query = query.where(Lot.updated_at >= lower - STAGE_SLACK)
    return [event for lot in session.scalars(query) for event in stage_events(ids, lot)]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    return (ids[start : start + _IN_LIST] for start in range(0, len(ids), _IN_LIST))


def lots_of_batches(session: Session, batch_ids: Sequence[int]) -> dict[int, list[Lot]]:
    """Return the lots each of ``batch_ids`` labels (batches labelling none are left out)."""
    found: dict[int, list[Lot]] = {}
    for chunk in _chunks(batch_ids):
        query = (
            select(BatchLot.batch_id, Lot).join(Lot, Lot.id == BatchLot.lot_id)
            .where(BatchLot.batch_id.in_(chunk)).order_by(Lot.id)
        )  # fmt: skip
        for batch_id, lot in session.execute(query).all():
            found.setdefault(batch_id, []).append(lot)
    return found


def _lots_of_certificates(session: Session, certificate_ids: Sequence[int]) -> dict[int, list[Lot]]:
    """Return the lots the batches of each of ``certificate_ids`` label, each once."""
    found: dict[int, dict[int, Lot]] = {}
    for chunk in _chunks(certificate_ids):
        query = (
            select(Batch.certificate_id, Lot).join(BatchLot, BatchLot.batch_id == Batch.id)
            .join(Lot, Lot.id == BatchLot.lot_id).where(Batch.certificate_id.in_(chunk))
            .order_by(Lot.id)
        )  # fmt: skip
        for certificate_id, lot in session.execute(query).all():
            found.setdefault(certificate_id, {})[lot.id] = lot
    return {certificate_id: list(lots.values()) for certificate_id, lots in found.items()}
