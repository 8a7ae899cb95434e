"""Inspectors' reports of misuse: filed (once) by the inspector, read and updated at the
authority's desk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.registry.actors import Actor, audit, get, key_indexes_of, require_key
from verifier.service_errors import Invalid
from verifier.store.models import Report, ReportPhoto, ReportState, Role

MAX_REPORT_PHOTOS = 3


def file_report(
    session: Session,
    *,
    actor: Actor,
    fields: dict[str, Any],
    photos: list[tuple[str, bytes]],
    now: datetime,
) -> tuple[Report, bool]:
    """File an inspector's report, once: a report whose ``client_id`` this inspector already
    sent is returned as it is (``False``: not created again). Returns the report and whether it
    was created now. Raises :class:`Forbidden` for anyone but an inspector, :class:`Invalid`
    for more than ``MAX_REPORT_PHOTOS`` photos."""
    actor.require(Role.INSPECTOR)
    if len(photos) > MAX_REPORT_PHOTOS:
        raise Invalid(f"a report holds up to {MAX_REPORT_PHOTOS} photos")
    existing = session.scalar(
        select(Report).where(
            Report.token_id == actor.token_id, Report.client_id == fields["client_id"]
        )
    )
    if existing is not None:
        return existing, False
    report = Report(**fields, token_id=actor.token_id, received_at=now, status=ReportState.NEW)
    report.photos = [ReportPhoto(media_type=kind, data=data) for kind, data in photos]
    session.add(report)
    session.flush()
    audit(session, actor, "report.file", "report", report.id, now, verdict=report.verdict,
          serial=report.serial, photos=len(photos))  # fmt: skip
    return report, True


def reports_of(session: Session, *, actor: Actor, limit: int = 100) -> list[Report]:
    """Return the inspector's own reports, newest first."""
    actor.require(Role.INSPECTOR)
    return list(
        session.scalars(
            select(Report)
            .where(Report.token_id == actor.token_id)
            .order_by(Report.id.desc())
            .limit(limit)
        )
    )


def desk_reports(session: Session, *, actor: Actor, limit: int = 100) -> list[Report]:
    """Return the inspector reports about the actor's stamps (all, for the central council),
    open ones first, newest first."""
    actor.require(Role.AUTHORITY)
    query = select(Report)
    keys = key_indexes_of(session, actor=actor)
    if keys is not None:
        query = query.where(Report.key_index.in_(keys))
    order = (Report.status == ReportState.CLOSED, Report.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def desk_report(session: Session, *, actor: Actor, report_id: int) -> Report:
    """Return a report about the actor's stamps. Raises :class:`NotFound`, or
    :class:`Forbidden` for a report about another authority's stamps."""
    actor.require(Role.AUTHORITY)
    report = get(session, Report, report_id)
    require_key(
        session,
        actor=actor,
        key_index=report.key_index,
        refusal="this report is about another's stamps",
    )
    return report


def update_report(
    session: Session, *, actor: Actor, report_id: int, status: str, note: str, now: datetime
) -> Report:
    """Set a report's status (new, investigating, closed) and the authority's note. Raises
    :class:`Forbidden` for a report about another authority's stamps, :class:`Invalid` for an
    unknown status."""
    actor.require(Role.AUTHORITY)
    try:
        state = ReportState(status)
    except ValueError:
        raise Invalid(f"status must be new, investigating or closed, not {status!r}") from None
    report = desk_report(session, actor=actor, report_id=report_id)
    report.status, report.authority_note = state, note
    audit(session, actor, "report.update", "report", report.id, now, status=status)
    return report
