"""OCOP certificates: recognition, revocation, re-evaluation, supersession and expiry."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing import CertificateState
from signing.dates import RECOGNITION_MONTHS, add_months, vietnam_date
from verifier.registry.actors import SYSTEM, Actor, audit, authority_of, get, require_province
from verifier.service_errors import Conflict, Forbidden, Invalid
from verifier.store.models import AuthorityKind, Certificate, Product, Role


def register_certificate(
    session: Session,
    *,
    actor: Actor,
    product_id: int,
    stars: int,
    decision_number: str,
    decision_date: date,
    now: datetime,
    legal_basis: str | None = None,
    replaces: Certificate | None = None,
) -> Certificate:
    """Record an OCOP recognition decision; valid until decision date + 36 months.

    Raises :class:`Forbidden` when the actor's authority may not recognise that star level (the
    province 3-4 stars for its own producers, the central council 5), :class:`Invalid` for a
    decision in the future or one whose 36 months are already over.
    """
    actor.require(Role.AUTHORITY)
    authority = authority_of(session, actor=actor)
    product = get(session, Product, product_id)
    if stars not in (3, 4, 5):
        raise Invalid("stars must be 3, 4 or 5")
    allowed = (5,) if authority.kind == AuthorityKind.CENTRAL else (3, 4)
    if stars not in allowed:
        raise Forbidden(f"{authority.name} does not recognise {stars}-star products")
    require_province(session, actor=actor, producer=product.producer)
    today = vietnam_date(now)
    valid_until = add_months(decision_date, RECOGNITION_MONTHS)
    if decision_date > today:
        raise Invalid("the decision date lies in the future")
    if valid_until < today:
        raise Invalid("this decision's 36 months are already over")
    certificate = Certificate(
        product_id=product.id,
        authority_id=authority.id,
        stars=stars,
        decision_number=decision_number,
        decision_date=decision_date,
        legal_basis=legal_basis,
        valid_until=valid_until,
        status=CertificateState.ACTIVE,
        replaces_id=None if replaces is None else replaces.id,
        created_at=now,
    )
    session.add(certificate)
    session.flush()
    audit(
        session,
        actor,
        "certificate.register",
        "certificate",
        certificate.id,
        now,
        stars=stars,
        decision=decision_number,
        replaces=certificate.replaces_id,
    )
    return certificate


def require_issuer(*, actor: Actor, certificate: Certificate) -> None:
    """Raise :class:`Forbidden` unless the actor's authority issued ``certificate``."""
    if actor.authority_id != certificate.authority_id:
        raise Forbidden.refusal("certificate_not_yours")


def _check_replaceable(certificate: Certificate) -> None:
    if certificate.status in (CertificateState.REVOKED, CertificateState.SUPERSEDED):
        raise Conflict(
            f"certificate {certificate.id} is {certificate.status}; it cannot be replaced"
        )


def revoke_certificate(
    session: Session,
    *,
    actor: Actor,
    certificate_id: int,
    decision: str,
    decision_date: date,
    reason: str,
    now: datetime,
) -> Certificate:
    """Revoke an active certificate (its issuing authority only)."""
    actor.require(Role.AUTHORITY)
    certificate = get(session, Certificate, certificate_id)
    require_issuer(actor=actor, certificate=certificate)
    if certificate.status in (CertificateState.REVOKED, CertificateState.SUPERSEDED):
        raise Conflict(f"certificate {certificate_id} is already {certificate.status}")
    certificate.status = CertificateState.REVOKED
    certificate.revocation_decision = decision
    certificate.revocation_date = decision_date
    certificate.revocation_reason = reason
    audit(
        session, actor, "certificate.revoke", "certificate", certificate.id, now,
        decision=decision, reason=reason,
    )  # fmt: skip
    return certificate


def reevaluate_certificate(
    session: Session,
    *,
    actor: Actor,
    certificate_id: int,
    stars: int,
    decision_number: str,
    decision_date: date,
    now: datetime,
) -> Certificate:
    """Record a re-evaluation by the certificate's issuing authority: a new certificate (new
    stars, new 36 months) supersedes the old, whose stamps then resolve to the new one.
    Returns the new certificate.

    Raises :class:`Forbidden` for any other authority (and as :func:`register_certificate`
    does), :class:`Conflict` for a certificate already revoked or superseded."""
    actor.require(Role.AUTHORITY)
    old = get(session, Certificate, certificate_id)
    require_issuer(actor=actor, certificate=old)
    _check_replaceable(old)
    new = register_certificate(
        session,
        actor=actor,
        product_id=old.product_id,
        stars=stars,
        decision_number=decision_number,
        decision_date=decision_date,
        now=now,
        replaces=old,
    )
    _supersede(session, actor=actor, old=old, new=new, now=now)
    return new


def supersede_certificate(
    session: Session, *, actor: Actor, certificate_id: int, successor_id: int, now: datetime
) -> Certificate:
    """Record that an existing certificate of the same product replaces this one, e.g. the
    central council's 5-star recognition of a product the province had given 4: the old
    certificate's stamps then resolve to it. Only the old certificate's issuing authority
    may; the successor may be another authority's. Returns the old certificate.

    Raises :class:`Forbidden` for any other caller, :class:`Conflict` for an old certificate
    already revoked or superseded or a successor that is not active, :class:`Invalid` for a
    successor of another product or the certificate itself."""
    actor.require(Role.AUTHORITY)
    old = get(session, Certificate, certificate_id)
    require_issuer(actor=actor, certificate=old)
    _check_replaceable(old)
    new = get(session, Certificate, successor_id)
    if new.id == old.id:
        raise Invalid.refusal("successor_itself")
    if new.product_id != old.product_id:
        raise Invalid.refusal("successor_other_product")
    if new.status != CertificateState.ACTIVE:
        raise Conflict.refusal("successor_not_active")
    _supersede(session, actor=actor, old=old, new=new, now=now)
    return old


def _supersede(
    session: Session, *, actor: Actor, old: Certificate, new: Certificate, now: datetime
) -> None:
    """Mark ``old`` superseded by ``new`` (active, so the chain ends there), audited."""
    old.status = CertificateState.SUPERSEDED
    old.superseded_by_id = new.id
    audit(
        session, actor, "certificate.supersede", "certificate", old.id, now,
        superseded_by=new.id, issuer=new.authority.code,
        stars_before=old.stars, stars_after=new.stars,
    )  # fmt: skip


def expire_certificates(session: Session, *, now: datetime) -> list[int]:
    """Mark active certificates whose validity ended before today as expired; return their ids."""
    today = vietnam_date(now)
    ended = session.scalars(
        select(Certificate).where(
            Certificate.status == CertificateState.ACTIVE, Certificate.valid_until < today
        )
    ).all()
    for certificate in ended:
        certificate.status = CertificateState.EXPIRED
        audit(session, SYSTEM, "certificate.expire", "certificate", certificate.id, now)
    return [c.id for c in ended]


def expiring_certificates(
    session: Session, *, actor: Actor, today: date, days: int = 90
) -> list[Certificate]:
    """Return the actor's active certificates whose validity ends within ``days``."""
    actor.require(Role.AUTHORITY)
    query = select(Certificate).where(
        Certificate.authority_id == actor.authority_id,
        Certificate.status == CertificateState.ACTIVE,
        Certificate.valid_until >= today,
        Certificate.valid_until <= today + timedelta(days=days),
    )
    return list(session.scalars(query.order_by(Certificate.valid_until)))
