"""Stamp-signing keys: generated in a token, added under the next index, retired, marked
compromised."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signing import KeyStatus, key_id
from signing.dates import vietnam_date
from verifier.registry.actors import Actor, audit, authority_of, get
from verifier.service_errors import Conflict, Forbidden, Invalid, NotFound
from verifier.store.models import Authority, AuthorityKind, Role, SigningKey


def record_key_generated(
    session: Session, *, actor: Actor, where: str, public_key: bytes, now: datetime
) -> None:
    """Record in the audit log that ``actor`` generated the key ``public_key`` at ``where`` (a
    key in a token: no file shows it was made, and it is not registered yet). Raises
    :class:`Forbidden` unless the actor is an authority."""
    actor.require(Role.AUTHORITY)
    audit(session, actor, "key.generate", "key", key_id(public_key), now, where=where)


def add_signing_key(
    session: Session,
    *,
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
        status=KeyStatus.ACTIVE,
        next_serial=1,
        key_file=key_file,
    )
    session.add(key)
    session.flush()
    audit(
        session, actor, "key.add", "signing_key", index, now,
        authority=authority_code, key_file=key_file,
    )  # fmt: skip
    return key


def retire_signing_key(
    session: Session, *, actor: Actor, key_index: int, now: datetime
) -> SigningKey:
    """Retire an active key: it signs no more, and its last issued serial is published as
    ``last_serial``, so any stamp above it is counterfeit. Raises :class:`Conflict` for a key
    that is not active."""
    actor.require(Role.AUTHORITY)
    key = get(session, SigningKey, key_index)
    if key.status != KeyStatus.ACTIVE:
        raise Conflict(f"key {key_index} is {key.status}, not active")
    key.status, key.last_serial = KeyStatus.RETIRED, key.next_serial - 1
    audit(session, actor, "key.retire", "signing_key", key_index, now, last_serial=key.last_serial)
    return key


def mark_key_compromised(
    session: Session, *, actor: Actor, key_index: int, last_serial: int, now: datetime
) -> SigningKey:
    """Mark a key compromised with its watermark: the highest serial issued before the leak.
    Stamps above it become counterfeit everywhere once the trust list is republished.

    The key's own authority or the central council may do it. Raises :class:`Invalid` for a
    watermark above the serials the key has issued.
    """
    actor.require(Role.AUTHORITY)
    key = get(session, SigningKey, key_index)
    authority = authority_of(session, actor=actor)
    if authority.id != key.authority_id and authority.kind != AuthorityKind.CENTRAL:
        raise Forbidden("only the key's authority or the central council can mark it compromised")
    if not 0 <= last_serial < key.next_serial:
        raise Invalid(f"the key has issued serials up to {key.next_serial - 1} only")
    key.status, key.last_serial = KeyStatus.COMPROMISED, last_serial
    audit(session, actor, "key.compromise", "signing_key", key.index, now, last_serial=last_serial)
    return key
