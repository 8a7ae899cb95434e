"""Batches of stamps: serials allocated from a signing key's counter for an active
certificate, looked up for printing, voided."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signing import CertificateState, KeyStatus
from signing.dates import vietnam_date
from verifier.claims.pins import new_batch_secret
from verifier.provinces import province
from verifier.registry.actors import Actor, audit, get
from verifier.registry.certificates import require_issuer
from verifier.service_errors import Conflict, Forbidden, Invalid
from verifier.store.models import Batch, BatchState, Certificate, Role, SigningKey

MAX_BATCH = 100_000


def _signing_key_for(session: Session, *, certificate: Certificate, today: date) -> SigningKey:
    keys = session.scalars(
        select(SigningKey)
        .where(
            SigningKey.authority_id == certificate.authority_id,
            SigningKey.status == KeyStatus.ACTIVE,
            SigningKey.not_before <= today,
            SigningKey.not_after >= today,
        )
        .order_by(SigningKey.index.desc())
    ).all()
    for key in keys:
        if certificate.stars in key.star_set:
            return key
    raise Conflict("the issuing authority has no active key for this star level")


def order_digest(
    *, certificate_id: int, count: int, markets: Sequence[str], claims: bool = False
) -> str:
    """Return the SHA-256 (hex) of a batch order as :func:`allocate_batch` reads it (the
    markets in any order, repeated or not; an order with PINs, unlike one without)."""
    order: list[object] = [certificate_id, count, sorted(set(markets))]
    if claims:  # appended: the digests of orders without PINs stay as they were stored
        order.append("claims")
    return hashlib.sha256(json.dumps(order, separators=(",", ":")).encode()).hexdigest()


def batch_ordered_with(
    session: Session, *, actor: Actor, idempotency_key: str, digest: str
) -> Batch | None:
    """Return the batch the actor's token ordered with ``idempotency_key`` (keys are the
    token's own: another caller's are never found), or ``None``. Raises :class:`Invalid` when
    that batch was ordered by a different order than the one of ``digest``."""
    if actor.token_id is None:
        return None
    batch = session.scalars(
        select(Batch).where(
            Batch.created_by == actor.token_id, Batch.idempotency_key == idempotency_key
        )
    ).first()
    if batch is not None and batch.order_digest != digest:
        raise Invalid(
            f"the Idempotency-Key {idempotency_key!r} was sent with another order (batch "
            f"{batch.id}); send a new key for a new order"
        )
    return batch


def allocate_batch(
    session: Session,
    *,
    actor: Actor,
    certificate_id: int,
    count: int,
    now: datetime,
    markets: Sequence[str] = (),
    idempotency_key: str | None = None,
    claims: bool = False,
) -> Batch:
    """Allocate ``count`` new serials for an active certificate: a producer's own, or one the
    acting authority issued (provincial departments print for their producers).

    Serials come from the key's counter in one atomic UPDATE, so concurrent requests never
    share or reuse one. Raises :class:`Forbidden` for anyone else, :class:`Conflict` for a
    certificate that is not active and valid today, and :class:`Invalid` for a count outside
    1..MAX_BATCH or a market that is not a province code. ``markets`` are the provinces the
    batch is sold in (scans far from all of them are shown on the authority's desk). With
    ``claims`` every stamp gets a PIN to print under scratch-off foil (verifier.claims). An
    ``idempotency_key`` is kept with the batch for :func:`batch_ordered_with` (with a token
    only); flushing a second batch with the same key and token raises ``IntegrityError``.
    """
    actor.require(Role.PRODUCER, Role.AUTHORITY)
    if not 1 <= count <= MAX_BATCH:
        raise Invalid(f"a batch holds 1 to {MAX_BATCH:,} stamps; ask for several batches")
    unknown = [code for code in markets if province(code) is None]
    if unknown:
        raise Invalid(f"not a province code: {', '.join(unknown)} (two digits, e.g. 01 Hà Nội)")
    certificate = get(session, Certificate, certificate_id)
    if actor.role is Role.AUTHORITY:
        if actor.authority_id != certificate.authority_id:
            raise Forbidden("an authority orders stamps for the certificates it issued only")
    elif certificate.product.producer_id != actor.producer_id:
        raise Forbidden("a producer orders stamps for its own certificates only")
    today = vietnam_date(now)
    if certificate.status != CertificateState.ACTIVE or certificate.valid_until < today:
        state = "expired" if certificate.valid_until < today else certificate.status
        raise Conflict(f"certificate {certificate_id} is {state}; no stamps can be issued for it")
    key = _signing_key_for(session, certificate=certificate, today=today)
    end = session.execute(
        update(SigningKey)
        .where(SigningKey.index == key.index)
        .values(next_serial=SigningKey.next_serial + count)
        .returning(SigningKey.next_serial)
    ).scalar_one()
    batch = Batch(
        certificate_id=certificate.id,
        key_index=key.index,
        first_serial=end - count,
        last_serial=end - 1,
        stars=certificate.stars,
        valid_until=certificate.valid_until,
        state=BatchState.ISSUED,
        created_by=actor.token_id,
        created_at=now,
        markets=",".join(sorted(set(markets))) or None,
        claim_secret=new_batch_secret() if claims else None,
    )
    if idempotency_key is not None and actor.token_id is not None:
        batch.idempotency_key = idempotency_key
        batch.order_digest = order_digest(
            certificate_id=certificate_id, count=count, markets=markets, claims=claims
        )
    session.add(batch)
    session.flush()
    audit(
        session, actor, "batch.issue", "batch", batch.id, now,
        certificate=certificate.id, key_index=key.index,
        first_serial=batch.first_serial, last_serial=batch.last_serial,
        markets=batch.market_codes, claims=claims,
    )  # fmt: skip
    return batch


def batch_for(session: Session, *, actor: Actor, batch_id: int) -> tuple[Batch, Certificate]:
    """Return a batch with its certificate, for its producer or the certificate's authority.
    Raises :class:`NotFound`, or :class:`Forbidden` for anyone else."""
    actor.require(Role.PRODUCER, Role.AUTHORITY)
    batch = get(session, Batch, batch_id)
    certificate = get(session, Certificate, batch.certificate_id)
    if actor.role is Role.AUTHORITY:
        if actor.authority_id != certificate.authority_id:
            raise Forbidden("an authority sees the batches of the certificates it issued only")
    elif certificate.product.producer_id != actor.producer_id:
        raise Forbidden("a producer sees its own batches only")
    return batch, certificate


def void_batch(
    session: Session, *, actor: Actor, batch_id: int, reason: str, now: datetime
) -> Batch:
    """Void a batch (the certificate's issuing authority only): its stamps become unregistered."""
    actor.require(Role.AUTHORITY)
    batch = get(session, Batch, batch_id)
    require_issuer(actor=actor, certificate=get(session, Certificate, batch.certificate_id))
    if batch.state == BatchState.VOID:
        raise Conflict(f"batch {batch_id} is already void")
    batch.state, batch.void_reason, batch.voided_at = BatchState.VOID, reason, now
    audit(session, actor, "batch.void", "batch", batch.id, now, reason=reason)
    return batch
