"""API tokens: created once in clear, stored as a hash, read back as the :class:`Actor` they
stand for."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.registry.actors import SYSTEM, Actor, audit
from verifier.service_errors import Invalid
from verifier.store.models import ApiToken, Role

TOKEN_PREFIX = "ocop_"  # noqa: S105 (a prefix, not a secret)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    role: Role,
    label: str,
    now: datetime,
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
        role=role,
        label=label,
        authority_id=authority_id,
        producer_id=producer_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(session, SYSTEM, "token.create", "api_token", row.id, now, role=role.value, label=label)
    return token


def actor_for_token(session: Session, *, token: str) -> Actor | None:
    """Return the actor of a presented token, or ``None`` when it is unknown or revoked."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    return None if row is None else actor_of(row)


def actor_of(row: ApiToken) -> Actor | None:
    """Return the actor a stored token stands for, or ``None`` once it is revoked."""
    if row.revoked_at is not None:
        return None
    return Actor(row.role, row.label, row.id, row.authority_id, row.producer_id)
