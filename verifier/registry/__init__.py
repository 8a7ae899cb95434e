"""Registry operations: every write checks role and ownership and lands in the audit log.

Functions take the caller (:class:`Actor`) and the time (``now``) explicitly; none reads the
clock. They flush but do not commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from signing import CertificateState, KeyStatus
from signing.dates import RECOGNITION_MONTHS, add_months, vietnam_date
from verifier.provinces import province
from verifier.service_errors import Conflict, Forbidden, Invalid, NotFound
from verifier.store import audit_chain as chain
from verifier.store.models import (
    ApiToken,
    Authority,
    AuthorityKind,
    Batch,
    BatchState,
    BlockedSerials,
    Certificate,
    Producer,
    Product,
    Report,
    ReportPhoto,
    ReportState,
    Role,
    Scan,
    SerialScans,
    SigningKey,
)

MAX_BATCH = 100_000
TOKEN_PREFIX = "ocop_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a request: the role and scope of the token presented."""

    role: Role
    label: str
    token_id: int | None = None
    authority_id: int | None = None
    producer_id: int | None = None

    def require(self, *roles: Role) -> None:
        """Raise :class:`Forbidden` unless the actor has one of ``roles``."""
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise Forbidden(f"this action needs the {allowed} role, not {self.role.value}")


SYSTEM = Actor(Role.AUTHORITY, "system")


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def audit(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    **details: Any,
) -> None:
    """Append one entry to the hash-chained audit log."""
    chain.append(
        session,
        at=now,
        actor=actor.label,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        details=details,
    )


def get(session: Session, model: type[Any], identifier: object) -> Any:
    """Return the row of ``model`` with primary key ``identifier``; raise :class:`NotFound`."""
    row = session.get(model, identifier)
    if row is None:
        raise NotFound(model.__tablename__.rstrip("s").replace("_", " "), identifier)
    return row


def create_token(
    session: Session,
    role: Role,
    label: str,
    now: datetime,
    *,
    authority_id: int | None = None,
    producer_id: int | None = None,
) -> str:
    """Create an API token and return it in clear (the only time it is seen); store its hash."""
    if (role is Role.PRODUCER) != (producer_id is not None):
        raise Invalid("a producer token names its producer, and only a producer token does")
    if role is Role.AUTHORITY and authority_id is None:
        raise Invalid("an authority token names its authority")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=hash_token(token),
        role=role.value,
        label=label,
        authority_id=authority_id,
        producer_id=producer_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(session, SYSTEM, "token.create", "api_token", row.id, now, role=role.value, label=label)
    return token


def actor_for_token(session: Session, token: str) -> Actor | None:
    """Return the actor of a presented token, or ``None`` when it is unknown or revoked."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    return None if row is None else actor_of(row)


def actor_of(row: ApiToken) -> Actor | None:
    """Return the actor a stored token stands for, or ``None`` once it is revoked."""
    if row.revoked_at is not None:
        return None
    return Actor(Role(row.role), row.label, row.id, row.authority_id, row.producer_id)


# Producers and products.


def register_producer(session: Session, actor: Actor, now: datetime, **fields: Any) -> Producer:
    """Register a producer (authority only). Raises :class:`Conflict` on a known registration
    number and :class:`Forbidden` outside the authority's province."""
    actor.require(Role.AUTHORITY)
    authority = _authority(session, actor)
    if authority.kind == AuthorityKind.PROVINCE and fields["province_code"] != (
        authority.province_code
    ):
        raise Forbidden("a provincial authority registers producers of its own province only")
    number = fields["registration_number"]
    if session.scalars(select(Producer).where(Producer.registration_number == number)).first():
        raise Conflict(f"a producer with registration number {number} is already registered")
    producer = Producer(created_at=now, **fields)
    session.add(producer)
    session.flush()
    audit(
        session, actor, "producer.register", "producer", producer.id, now, name=producer.legal_name
    )
    return producer


def register_product(
    session: Session, actor: Actor, producer_id: int, now: datetime, **fields: Any
) -> Product:
    """Register a product of ``producer_id`` (authority only)."""
    actor.require(Role.AUTHORITY)
    producer: Producer = get(session, Producer, producer_id)
    _check_province(session, actor, producer)
    product = Product(producer_id=producer.id, created_at=now, **fields)
    session.add(product)
    session.flush()
    audit(session, actor, "product.register", "product", product.id, now, name=product.name)
    return product


def set_label_photo(
    session: Session, actor: Actor, product_id: int, photo: bytes, content_type: str, now: datetime
) -> Product:
    """Store the product's label photo (authority of its province)."""
    actor.require(Role.AUTHORITY)
    product: Product = get(session, Product, product_id)
    _check_province(session, actor, product.producer)
    product.label_photo, product.label_photo_type = photo, content_type
    audit(session, actor, "product.photo", "product", product.id, now, bytes=len(photo))
    return product


# Certificates.


def register_certificate(
    session: Session,
    actor: Actor,
    product_id: int,
    stars: int,
    decision_number: str,
    decision_date: date,
    now: datetime,
    *,
    legal_basis: str | None = None,
    replaces: Certificate | None = None,
) -> Certificate:
    """Record an OCOP recognition decision; valid until decision date + 36 months.

    Raises :class:`Forbidden` when the actor's authority may not recognise that star level (the
    province 3-4 stars for its own producers, the central council 5), :class:`Invalid` for a
    decision in the future or one whose 36 months are already over.
    """
    actor.require(Role.AUTHORITY)
    authority = _authority(session, actor)
    product: Product = get(session, Product, product_id)
    if stars not in (3, 4, 5):
        raise Invalid("stars must be 3, 4 or 5")
    allowed = (5,) if authority.kind == AuthorityKind.CENTRAL else (3, 4)
    if stars not in allowed:
        raise Forbidden(f"{authority.name} does not recognise {stars}-star products")
    _check_province(session, actor, product.producer)
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
        status=CertificateState.ACTIVE.value,
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


def _check_authority_of(session: Session, actor: Actor, certificate: Certificate) -> None:
    if actor.authority_id != certificate.authority_id:
        raise Forbidden.refusal("certificate_not_yours")


def _check_replaceable(certificate: Certificate) -> None:
    if certificate.status in (CertificateState.REVOKED, CertificateState.SUPERSEDED):
        raise Conflict(
            f"certificate {certificate.id} is {certificate.status}; it cannot be replaced"
        )


def revoke_certificate(
    session: Session,
    actor: Actor,
    certificate_id: int,
    decision: str,
    decision_date: date,
    reason: str,
    now: datetime,
) -> Certificate:
    """Revoke an active certificate (its issuing authority only)."""
    actor.require(Role.AUTHORITY)
    certificate: Certificate = get(session, Certificate, certificate_id)
    _check_authority_of(session, actor, certificate)
    if certificate.status in (CertificateState.REVOKED, CertificateState.SUPERSEDED):
        raise Conflict(f"certificate {certificate_id} is already {certificate.status}")
    certificate.status = CertificateState.REVOKED.value
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
    old: Certificate = get(session, Certificate, certificate_id)
    _check_authority_of(session, actor, old)
    _check_replaceable(old)
    new = register_certificate(
        session, actor, old.product_id, stars, decision_number, decision_date, now, replaces=old
    )
    _supersede(session, actor, old, new, now)
    return new


def supersede_certificate(
    session: Session, actor: Actor, certificate_id: int, successor_id: int, now: datetime
) -> Certificate:
    """Record that an existing certificate of the same product replaces this one, e.g. the
    central council's 5-star recognition of a product the province had given 4: the old
    certificate's stamps then resolve to it. Only the old certificate's issuing authority
    may; the successor may be another authority's. Returns the old certificate.

    Raises :class:`Forbidden` for any other caller, :class:`Conflict` for an old certificate
    already revoked or superseded or a successor that is not active, :class:`Invalid` for a
    successor of another product or the certificate itself."""
    actor.require(Role.AUTHORITY)
    old: Certificate = get(session, Certificate, certificate_id)
    _check_authority_of(session, actor, old)
    _check_replaceable(old)
    new: Certificate = get(session, Certificate, successor_id)
    if new.id == old.id:
        raise Invalid.refusal("successor_itself")
    if new.product_id != old.product_id:
        raise Invalid.refusal("successor_other_product")
    if new.status != CertificateState.ACTIVE.value:
        raise Conflict.refusal("successor_not_active")
    _supersede(session, actor, old, new, now)
    return old


def _supersede(
    session: Session, actor: Actor, old: Certificate, new: Certificate, now: datetime
) -> None:
    """Mark ``old`` superseded by ``new`` (active, so the chain ends there), audited."""
    old.status = CertificateState.SUPERSEDED.value
    old.superseded_by_id = new.id
    audit(
        session, actor, "certificate.supersede", "certificate", old.id, now,
        superseded_by=new.id, issuer=new.authority.code,
        stars_before=old.stars, stars_after=new.stars,
    )  # fmt: skip


def expire_certificates(session: Session, now: datetime) -> list[int]:
    """Mark active certificates whose validity ended before today as expired; return their ids."""
    today = vietnam_date(now)
    ended = session.scalars(
        select(Certificate).where(
            Certificate.status == CertificateState.ACTIVE.value, Certificate.valid_until < today
        )
    ).all()
    for certificate in ended:
        certificate.status = CertificateState.EXPIRED.value
        audit(session, SYSTEM, "certificate.expire", "certificate", certificate.id, now)
    return [c.id for c in ended]


# Batches.


def _signing_key_for(session: Session, certificate: Certificate, today: date) -> SigningKey:
    keys = session.scalars(
        select(SigningKey)
        .where(
            SigningKey.authority_id == certificate.authority_id,
            SigningKey.status == KeyStatus.ACTIVE.value,
            SigningKey.not_before <= today,
            SigningKey.not_after >= today,
        )
        .order_by(SigningKey.index.desc())
    ).all()
    for key in keys:
        if certificate.stars in key.star_set:
            return key
    raise Conflict("the issuing authority has no active key for this star level")


def order_digest(certificate_id: int, count: int, markets: Sequence[str]) -> str:
    """Return the SHA-256 (hex) of a batch order as :func:`allocate_batch` reads it (the
    markets in any order, repeated or not)."""
    order = [certificate_id, count, sorted(set(markets))]
    return hashlib.sha256(json.dumps(order, separators=(",", ":")).encode()).hexdigest()


def batch_ordered_with(
    session: Session, actor: Actor, idempotency_key: str, digest: str
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
    actor: Actor,
    certificate_id: int,
    count: int,
    now: datetime,
    markets: Sequence[str] = (),
    idempotency_key: str | None = None,
) -> Batch:
    """Allocate ``count`` new serials for an active certificate: a producer's own, or one the
    acting authority issued (provincial departments print for their producers).

    Serials come from the key's counter in one atomic UPDATE, so concurrent requests never
    share or reuse one. Raises :class:`Forbidden` for anyone else, :class:`Conflict` for a
    certificate that is not active and valid today, and :class:`Invalid` for a count outside
    1..MAX_BATCH or a market that is not a province code. ``markets`` are the provinces the
    batch is sold in (scans far from all of them are shown on the authority's desk). An
    ``idempotency_key`` is kept with the batch for :func:`batch_ordered_with` (with a token
    only); flushing a second batch with the same key and token raises ``IntegrityError``.
    """
    actor.require(Role.PRODUCER, Role.AUTHORITY)
    if not 1 <= count <= MAX_BATCH:
        raise Invalid(f"a batch holds 1 to {MAX_BATCH:,} stamps; ask for several batches")
    unknown = [code for code in markets if province(code) is None]
    if unknown:
        raise Invalid(f"not a province code: {', '.join(unknown)} (two digits, e.g. 01 Hà Nội)")
    certificate: Certificate = get(session, Certificate, certificate_id)
    if actor.role is Role.AUTHORITY:
        if actor.authority_id != certificate.authority_id:
            raise Forbidden("an authority orders stamps for the certificates it issued only")
    elif certificate.product.producer_id != actor.producer_id:
        raise Forbidden("a producer orders stamps for its own certificates only")
    today = vietnam_date(now)
    if certificate.status != CertificateState.ACTIVE.value or certificate.valid_until < today:
        state = "expired" if certificate.valid_until < today else certificate.status
        raise Conflict(f"certificate {certificate_id} is {state}; no stamps can be issued for it")
    key = _signing_key_for(session, certificate, today)
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
        state=BatchState.ISSUED.value,
        created_by=actor.token_id,
        created_at=now,
        markets=",".join(sorted(set(markets))) or None,
    )
    if idempotency_key is not None and actor.token_id is not None:
        batch.idempotency_key = idempotency_key
        batch.order_digest = order_digest(certificate_id, count, markets)
    session.add(batch)
    session.flush()
    audit(
        session, actor, "batch.issue", "batch", batch.id, now,
        certificate=certificate.id, key_index=key.index,
        first_serial=batch.first_serial, last_serial=batch.last_serial,
        markets=batch.market_codes,
    )  # fmt: skip
    return batch


def batch_for(session: Session, actor: Actor, batch_id: int) -> tuple[Batch, Certificate]:
    """Return a batch with its certificate, for its producer or the certificate's authority.
    Raises :class:`NotFound`, or :class:`Forbidden` for anyone else."""
    actor.require(Role.PRODUCER, Role.AUTHORITY)
    batch: Batch = get(session, Batch, batch_id)
    certificate: Certificate = get(session, Certificate, batch.certificate_id)
    if actor.role is Role.AUTHORITY:
        if actor.authority_id != certificate.authority_id:
            raise Forbidden("an authority sees the batches of the certificates it issued only")
    elif certificate.product.producer_id != actor.producer_id:
        raise Forbidden("a producer sees its own batches only")
    return batch, certificate


def printable_batch(
    session: Session, actor: Actor, batch_id: int, now: datetime
) -> tuple[Batch, Certificate]:
    """Return a batch that may be printed (again: signatures are deterministic, so every
    download is the same stamps), with its certificate.

    Raises as :func:`batch_for`, and :class:`Conflict` for a void batch or a certificate that
    is no longer active."""
    batch, certificate = batch_for(session, actor, batch_id)
    if batch.state == BatchState.VOID.value:
        raise Conflict(f"batch {batch_id} was voided; its stamps must not be printed")
    if certificate.status != CertificateState.ACTIVE.value or (
        certificate.valid_until < vietnam_date(now)
    ):
        raise Conflict(f"certificate {certificate.id} is no longer active; no stamps are printed")
    return batch, certificate


def void_batch(session: Session, actor: Actor, batch_id: int, reason: str, now: datetime) -> Batch:
    """Void a batch (the certificate's issuing authority only): its stamps become unregistered."""
    actor.require(Role.AUTHORITY)
    batch: Batch = get(session, Batch, batch_id)
    _check_authority_of(session, actor, get(session, Certificate, batch.certificate_id))
    if batch.state == BatchState.VOID.value:
        raise Conflict(f"batch {batch_id} is already void")
    batch.state, batch.void_reason, batch.voided_at = BatchState.VOID.value, reason, now
    audit(session, actor, "batch.void", "batch", batch.id, now, reason=reason)
    return batch


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
    key: SigningKey = get(session, SigningKey, key_index)
    if actor.role is Role.AUTHORITY:
        if not answers_for_key(session, actor, key_index):
            raise Forbidden.refusal("block_other_key")
    else:
        _check_inspector_block(session, actor, key_index, first_serial, last_serial, now, limits)
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
    session: Session, actor: Actor, block_id: int, reason: str, now: datetime
) -> BlockedSerials:
    """Lift a block (an authority, on its own keys' serials): the range leaves the next
    status list; the block stays on record with why it was lifted. Raises :class:`NotFound`,
    :class:`Forbidden` for another authority's key, :class:`Conflict` when already lifted."""
    actor.require(Role.AUTHORITY)
    block: BlockedSerials = get(session, BlockedSerials, block_id)
    require_key(session, actor, block.key_index, "an authority lifts its own keys' blocks only")
    if block.lifted_at is not None:
        raise Conflict(f"block {block_id} was lifted already")
    block.lifted_at, block.lift_reason = now, reason
    audit(session, actor, "serial.unblock", "blocked_serials", block.id, now, reason=reason)
    return block


def add_signing_key(
    session: Session,
    actor: Actor,
    authority_code: str,
    public_key: bytes,
    period: tuple[date, date],
    key_file: str,
    now: datetime,
) -> SigningKey:
    """Register a new stamp-signing key for the authority with ``authority_code`` under the next
    unused index, scoped to 3-4 stars for a province and 5 for the central council, allowed to
    sign from ``period[0]`` to ``period[1]``. New batches use the newest active key.

    Raises :class:`NotFound` for an unknown authority, :class:`Conflict` for a public key
    already registered, and :class:`Invalid` for a period that ends before it starts or in the
    past."""
    actor.require(Role.AUTHORITY)
    authority = session.scalar(select(Authority).where(Authority.code == authority_code))
    if authority is None:
        raise NotFound("authority", authority_code)
    not_before, not_after = period
    if not_after < not_before or not_after < vietnam_date(now):
        raise Invalid("the key's signing period must end after it starts, and not in the past")
    if session.scalar(select(SigningKey).where(SigningKey.public_key == public_key)):
        raise Conflict("this public key is already registered; generate a new key")
    index = (session.scalar(select(func.max(SigningKey.index))) or 0) + 1
    key = SigningKey(
        index=index,
        authority_id=authority.id,
        public_key=public_key,
        stars="5" if authority.kind == AuthorityKind.CENTRAL else "3,4",
        not_before=not_before,
        not_after=not_after,
        status=KeyStatus.ACTIVE.value,
        next_serial=1,
        key_file=key_file,
    )
    session.add(key)
    session.flush()
    audit(session, actor, "key.add", "signing_key", index, now, authority=authority_code)
    return key


def retire_signing_key(session: Session, actor: Actor, key_index: int, now: datetime) -> SigningKey:
    """Retire an active key: it signs no more, and its last issued serial is published as
    ``last_serial``, so any stamp above it is counterfeit. Raises :class:`Conflict` for a key
    that is not active."""
    actor.require(Role.AUTHORITY)
    key: SigningKey = get(session, SigningKey, key_index)
    if key.status != KeyStatus.ACTIVE.value:
        raise Conflict(f"key {key_index} is {key.status}, not active")
    key.status, key.last_serial = KeyStatus.RETIRED.value, key.next_serial - 1
    audit(session, actor, "key.retire", "signing_key", key_index, now, last_serial=key.last_serial)
    return key


def mark_key_compromised(
    session: Session, actor: Actor, key_index: int, last_serial: int, now: datetime
) -> SigningKey:
    """Mark a key compromised with its watermark: the highest serial issued before the leak.
    Stamps above it become counterfeit everywhere once the trust list is republished.

    The key's own authority or the central council may do it. Raises :class:`Invalid` for a
    watermark above the serials the key has issued.
    """
    actor.require(Role.AUTHORITY)
    key: SigningKey = get(session, SigningKey, key_index)
    authority = _authority(session, actor)
    if authority.id != key.authority_id and authority.kind != AuthorityKind.CENTRAL:
        raise Forbidden("only the key's authority or the central council can mark it compromised")
    if not 0 <= last_serial < key.next_serial:
        raise Invalid(f"the key has issued serials up to {key.next_serial - 1} only")
    key.status, key.last_serial = KeyStatus.COMPROMISED.value, last_serial
    audit(session, actor, "key.compromise", "signing_key", key.index, now, last_serial=last_serial)
    return key


def _authority(session: Session, actor: Actor) -> Authority:
    if actor.authority_id is None:
        raise Forbidden("this token belongs to no authority")
    authority: Authority = get(session, Authority, actor.authority_id)
    return authority


def _check_province(session: Session, actor: Actor, producer: Producer) -> None:
    authority = _authority(session, actor)
    if authority.kind == AuthorityKind.PROVINCE and producer.province_code != (
        authority.province_code
    ):
        raise Forbidden("a provincial authority acts for producers of its own province only")


MAX_REPORT_PHOTOS = 3


def file_report(
    session: Session,
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
    report = Report(
        **fields, token_id=actor.token_id, received_at=now, status=ReportState.NEW.value
    )
    report.photos = [ReportPhoto(media_type=kind, data=data) for kind, data in photos]
    session.add(report)
    session.flush()
    audit(session, actor, "report.file", "report", report.id, now, verdict=report.verdict,
          serial=report.serial, photos=len(photos))  # fmt: skip
    return report, True


def reports_of(session: Session, actor: Actor, limit: int = 100) -> list[Report]:
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


# The authority's desk.


def key_indexes_of(session: Session, actor: Actor) -> list[int] | None:
    """The signing keys whose stamps the actor answers for (``None``: all, the central
    council)."""
    authority = _authority(session, actor)
    if authority.kind == AuthorityKind.CENTRAL:
        return None
    return list(
        session.scalars(select(SigningKey.index).where(SigningKey.authority_id == authority.id))
    )


def answers_for_key(session: Session, actor: Actor, key_index: int | None) -> bool:
    """Return whether the actor answers for the stamps of ``key_index`` (see
    :func:`key_indexes_of`)."""
    keys = key_indexes_of(session, actor)
    return keys is None or key_index in keys


def require_key(session: Session, actor: Actor, key_index: int | None, refusal: str) -> None:
    """Raise :class:`Forbidden` with ``refusal`` unless the actor answers for the stamps of
    ``key_index``."""
    if not answers_for_key(session, actor, key_index):
        raise Forbidden(refusal)


def flagged_serials(session: Session, actor: Actor, limit: int = 100) -> list[SerialScans]:
    """Return the serials of the actor's keys whose scans broke a clone rule, most scanned
    first. Raises :class:`Forbidden` for anyone but an authority."""
    actor.require(Role.AUTHORITY)
    query = select(SerialScans).where(SerialScans.flag.is_not(None))
    keys = key_indexes_of(session, actor)
    if keys is not None:
        query = query.where(SerialScans.key_index.in_(keys))
    return list(session.scalars(query.order_by(SerialScans.count.desc()).limit(limit)))


def clear_scan_pattern(
    session: Session,
    actor: Actor,
    serial: tuple[int, int],
    reason: str,
    now: datetime,
    *,
    forget: Callable[[Connection, tuple[int, int]], bool],
) -> None:
    """Clear a serial's clone flag and away mark after an investigation found it genuine (an
    authority, on its own keys' serials): ``forget`` (the scan recorder's) drops what its
    checks so far said of copying, so only new checks count. Audited. Raises
    :class:`Forbidden` for another authority's key, :class:`Conflict` when there is nothing
    to clear."""
    actor.require(Role.AUTHORITY)
    key_index, number = serial
    require_key(session, actor, key_index, "an authority clears its own keys' serials only")
    flag = session.scalar(
        select(SerialScans.flag).where(
            SerialScans.key_index == key_index, SerialScans.serial == number
        )
    )
    if not forget(session.connection(), serial):
        raise Conflict(f"serial {key_index}-{number} has no clone flag or away mark to clear")
    audit(session, actor, "serial.clear_pattern", "serial_scans", f"{key_index}-{number}", now,
          flag=flag, reason=reason)  # fmt: skip


def desk_reports(session: Session, actor: Actor, limit: int = 100) -> list[Report]:
    """Return the inspector reports about the actor's stamps (all, for the central council),
    open ones first, newest first."""
    actor.require(Role.AUTHORITY)
    query = select(Report)
    keys = key_indexes_of(session, actor)
    if keys is not None:
        query = query.where(Report.key_index.in_(keys))
    order = (Report.status == ReportState.CLOSED.value, Report.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def desk_report(session: Session, actor: Actor, report_id: int) -> Report:
    """Return a report about the actor's stamps. Raises :class:`NotFound`, or
    :class:`Forbidden` for a report about another authority's stamps."""
    actor.require(Role.AUTHORITY)
    report: Report = get(session, Report, report_id)
    require_key(session, actor, report.key_index, "this report is about another's stamps")
    return report


def update_report(
    session: Session, actor: Actor, report_id: int, status: str, note: str, now: datetime
) -> Report:
    """Set a report's status (new, investigating, closed) and the authority's note. Raises
    :class:`Forbidden` for a report about another authority's stamps, :class:`Invalid` for an
    unknown status."""
    actor.require(Role.AUTHORITY)
    if status not in {s.value for s in ReportState}:
        raise Invalid(f"status must be new, investigating or closed, not {status!r}")
    report = desk_report(session, actor, report_id)
    report.status, report.authority_note = status, note
    audit(session, actor, "report.update", "report", report.id, now, status=status)
    return report


def expiring_certificates(
    session: Session, actor: Actor, today: date, days: int = 90
) -> list[Certificate]:
    """Return the actor's active certificates whose validity ends within ``days``."""
    actor.require(Role.AUTHORITY)
    query = select(Certificate).where(
        Certificate.authority_id == actor.authority_id,
        Certificate.status == CertificateState.ACTIVE.value,
        Certificate.valid_until >= today,
        Certificate.valid_until <= today + timedelta(days=days),
    )
    return list(session.scalars(query.order_by(Certificate.valid_until)))
