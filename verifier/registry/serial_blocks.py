"""Serials blocked as clones, by an authority on its keys or by an inspector within limits,
and lifted again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.registry.actors import Actor, answers_for_key, audit, get, require_key
from verifier.service_errors import Conflict, Forbidden, Invalid
from verifier.store.models import ApiToken, BlockedSerials, Role, Scan, SigningKey


@dataclass(frozen=True, slots=True)
class InspectorBlocks:
    """What one inspector token may block (inspector tokens live on phones in markets, so a
    stolen one must not block much): a single serial it checked itself, signed in, within the
    last ``check_days`` days, and at most ``per_day`` serials in any 24 hours."""

    check_days: int = 7
    per_day: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.check_days <= 365:
            raise ValueError("the check window is 1 to 365 days")
        if not 1 <= self.per_day <= 10_000:
            raise ValueError("an inspector blocks 1 to 10,000 serials a day")


INSPECTOR_BLOCKS = InspectorBlocks()


def block_serials(
    session: Session,
    *,
    actor: Actor,
    key_index: int,
    first_serial: int,
    last_serial: int,
    reason: str,
    now: datetime,
    limits: InspectorBlocks = INSPECTOR_BLOCKS,
) -> BlockedSerials:
    """Block issued serials as cloned: a range or a whole batch by the authority that answers
    for the key (see :func:`key_indexes_of`), one serial by an inspector within ``limits``.
    Offline scanners learn it from the next status list. Returns the block.

    Raises :class:`Forbidden` for another authority's key and for an inspector's range,
    unchecked serial or block past the daily cap; :class:`Invalid` for a range that goes past
    the serials the key has issued."""
    actor.require(Role.AUTHORITY, Role.INSPECTOR)
    if not 1 <= first_serial <= last_serial < 1 << 48:
        raise Invalid("a blocked range needs 1 <= first_serial <= last_serial < 2**48")
    key = get(session, SigningKey, key_index)
    if actor.role is Role.AUTHORITY:
        if not answers_for_key(session, actor=actor, key_index=key_index):
            raise Forbidden.refusal("block_other_key")
    else:
        _check_inspector_block(
            session,
            actor=actor,
            key_index=key_index,
            first_serial=first_serial,
            last_serial=last_serial,
            now=now,
            limits=limits,
        )
    if last_serial >= key.next_serial:
        raise Invalid.refusal("block_not_issued", last_issued=key.next_serial - 1)
    blocked = BlockedSerials(
        key_index=key_index,
        first_serial=first_serial,
        last_serial=last_serial,
        reason=reason,
        created_by=actor.token_id,
        created_at=now,
    )
    session.add(blocked)
    session.flush()
    audit(
        session, actor, "serial.block", "blocked_serials", blocked.id, now,
        key_index=key_index, first_serial=first_serial, last_serial=last_serial, reason=reason,
    )  # fmt: skip
    return blocked


def _check_inspector_block(
    session: Session,
    *,
    actor: Actor,
    key_index: int,
    first_serial: int,
    last_serial: int,
    now: datetime,
    limits: InspectorBlocks,
) -> None:
    """Raise :class:`Forbidden` unless the inspector asks for one serial, has blocked fewer
    than ``limits.per_day`` in the last 24 hours, and checked that serial itself, signed in,
    within ``limits.check_days`` (only a stamp whose signature held is recorded against its
    serial: a forged code naming the serial is no check of it, see ``Service.verify``)."""
    if first_serial != last_serial:
        raise Forbidden.refusal("block_range_needs_authority")
    if actor.token_id is None:  # pragma: no cover - every inspector signs in with a token
        raise Forbidden.refusal("block_not_checked", days=limits.check_days)
    # the inspector's blocks take turns, so that two sent together cannot both pass the cap
    session.get(ApiToken, actor.token_id, with_for_update=True)
    blocked_today = session.scalar(
        select(func.count())
        .select_from(BlockedSerials)
        .where(
            BlockedSerials.created_by == actor.token_id,
            BlockedSerials.created_at > now - timedelta(hours=24),
        )
    )
    if (blocked_today or 0) >= limits.per_day:
        raise Forbidden.refusal("block_daily_cap", per_day=limits.per_day)
    checked = session.scalar(
        select(Scan.id)
        .where(
            Scan.token_id == actor.token_id,
            Scan.key_index == key_index,
            Scan.serial == first_serial,
            Scan.role == Role.INSPECTOR.value,
            Scan.at >= now - timedelta(days=limits.check_days),
        )
        .limit(1)
    )
    if checked is None:
        raise Forbidden.refusal("block_not_checked", days=limits.check_days)


def lift_block(
    session: Session, *, actor: Actor, block_id: int, reason: str, now: datetime
) -> BlockedSerials:
    """Lift a block (an authority, on its own keys' serials): the range leaves the next
    status list; the block stays on record with why it was lifted. Raises :class:`NotFound`,
    :class:`Forbidden` for another authority's key, :class:`Conflict` when already lifted."""
    actor.require(Role.AUTHORITY)
    block = get(session, BlockedSerials, block_id)
    require_key(
        session,
        actor=actor,
        key_index=block.key_index,
        refusal="an authority lifts its own keys' blocks only",
    )
    if block.lifted_at is not None:
        raise Conflict(f"block {block_id} was lifted already")
    block.lifted_at, block.lift_reason = now, reason
    audit(session, actor, "serial.unblock", "blocked_serials", block.id, now, reason=reason)
    return block
