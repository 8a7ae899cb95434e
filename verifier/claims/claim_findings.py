"""What the authority's desk looks into among claims: stamps whose PIN was confirmed more than
once (the pack refilled, or its stamp moved to another), and stamps confirmed in a province
far from every province their batch is sold in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from verifier import provinces
from verifier.registry import Actor, key_indexes_of
from verifier.scans.clones import RULES, CloneRules, far_from_markets
from verifier.store.models import Batch, Certificate, Role, StampClaim

__all__ = ["ClaimFinding", "claims_to_review"]


@dataclass(frozen=True, slots=True)
class ClaimFinding:
    """A claimed stamp worth a look: its claim, its batch and certificate, and why."""

    claim: StampClaim
    batch: Batch
    certificate: Certificate
    twice: bool  # confirmed more than once
    far: bool  # confirmed far from every market of its batch


def claims_to_review(
    session: Session, actor: Actor, rules: CloneRules = RULES, limit: int = 50
) -> list[ClaimFinding]:
    """Return the actor's stamps confirmed more than once or far from their batch's markets,
    the latest first (at most ``limit``). Raises :class:`Forbidden` for anyone but an
    authority."""
    actor.require(Role.AUTHORITY)
    covers = and_(StampClaim.key_index == Batch.key_index,
                  StampClaim.serial.between(Batch.first_serial, Batch.last_serial))  # fmt: skip
    query = (
        select(StampClaim, Batch, Certificate)
        .join(Batch, covers)
        .join(Certificate, Certificate.id == Batch.certificate_id)
        .where(or_(StampClaim.count > 1, _named_outside_markets()))
        .order_by(StampClaim.last_at.desc())
    )
    keys = key_indexes_of(session, actor=actor)
    if keys is not None:
        query = query.where(StampClaim.key_index.in_(keys))
    found = []
    for claim, batch, certificate in session.execute(query):
        far = _far(claim, batch, rules)
        if claim.count > 1 or far:
            found.append(ClaimFinding(claim, batch, certificate, claim.count > 1, far))
            if len(found) == limit:
                break
    return found


def _named_outside_markets() -> ColumnElement[bool]:
    """In SQL: the first or the last confirmation named a province that is not one of the
    batch's markets (the common claim, in a market province or naming none, is left out before
    any distance is worked out)."""
    outside = [and_(named.is_not(None), ~Batch.markets.contains(named))
               for named in (StampClaim.first_province, StampClaim.last_province)]  # fmt: skip
    return and_(Batch.markets.is_not(None), or_(*outside))


def _far(claim: StampClaim, batch: Batch, rules: CloneRules) -> bool:
    """Return whether the first or the last confirmation named a province far from every
    market of the batch (a province not named says nothing)."""
    markets = [p.centre for code in batch.market_codes if (p := provinces.province(code))]
    named = [provinces.province(c) for c in (claim.first_province, claim.last_province) if c]
    return any(far_from_markets(p.centre, markets, rules) for p in named if p is not None)
