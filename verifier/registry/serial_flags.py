"""Serials whose scans broke a clone rule: listed on the authority's desk, cleared after an
investigation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from verifier.registry.actors import Actor, audit, key_indexes_of, require_key
from verifier.service_errors import Conflict
from verifier.store.models import Role, SerialScans


def flagged_serials(session: Session, *, actor: Actor, limit: int = 100) -> list[SerialScans]:
    """Return the serials of the actor's keys whose scans broke a clone rule, most scanned
    first. Raises :class:`Forbidden` for anyone but an authority."""
    actor.require(Role.AUTHORITY)
    query = select(SerialScans).where(SerialScans.flag.is_not(None))
    keys = key_indexes_of(session, actor=actor)
    if keys is not None:
        query = query.where(SerialScans.key_index.in_(keys))
    return list(session.scalars(query.order_by(SerialScans.count.desc()).limit(limit)))


def clear_scan_pattern(
    session: Session,
    *,
    actor: Actor,
    serial: tuple[int, int],
    reason: str,
    now: datetime,
    forget: Callable[[Connection, tuple[int, int]], bool],
) -> None:
    """Clear a serial's clone flag and away mark after an investigation found it genuine (an
    authority, on its own keys' serials): ``forget`` (the scan recorder's) drops what its
    checks so far said of copying, so only new checks count. Audited. Raises
    :class:`Forbidden` for another authority's key, :class:`Conflict` when there is nothing
    to clear."""
    actor.require(Role.AUTHORITY)
    key_index, number = serial
    require_key(
        session,
        actor=actor,
        key_index=key_index,
        refusal="an authority clears its own keys' serials only",
    )
    flag = session.scalar(
        select(SerialScans.flag).where(
            SerialScans.key_index == key_index, SerialScans.serial == number
        )
    )
    if not forget(session.connection(), serial):
        raise Conflict(f"serial {key_index}-{number} has no clone flag or away mark to clear")
    audit(session, actor, "serial.clear_pattern", "serial_scans", f"{key_index}-{number}", now,
          flag=flag, reason=reason)  # fmt: skip
