"""Who acts on the registry and what they answer for: the :class:`Actor` (role and scope of
a token), the authority behind it, its province and signing keys; the audit record every write
leaves, and the row lookup every registry function starts with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.service_errors import Forbidden, NotFound
from verifier.store import audit_chain
from verifier.store.models import Authority, AuthorityKind, Base, Producer, Role, SigningKey

_Row = TypeVar("_Row", bound=Base)


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


def audit(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    **details: Any,
) -> None:
    """Append one entry to the hash-chained audit log: ``actor`` did ``action`` to the
    ``entity`` (the kind of row) ``entity_id`` at ``now``; ``details`` are kept as JSON.

    Positional, unlike the registry's public functions: the package's own helper, called by
    every write with the same six in the same order."""
    audit_chain.append(
        session,
        at=now,
        actor=actor.label,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        details=details,
    )


def _noun(model: type[Base]) -> str:
    """Return how an error names a row of ``model``: ``SigningKey`` -> "signing key"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def get(session: Session, model: type[_Row], identifier: object) -> _Row:
    """Return the row of ``model`` with primary key ``identifier``; raise :class:`NotFound`.

    Positional, as :meth:`Session.get` is: the model and its key cannot be swapped unseen."""
    row = session.get(model, identifier)
    if row is None:
        raise NotFound(_noun(model), identifier)
    return row


def authority_of(session: Session, *, actor: Actor) -> Authority:
    """Return the authority the actor's token belongs to. Raises :class:`Forbidden` for a
    token of no authority."""
    if actor.authority_id is None:
        raise Forbidden("this token belongs to no authority")
    return get(session, Authority, actor.authority_id)


def require_province(session: Session, *, actor: Actor, producer: Producer) -> None:
    """Raise :class:`Forbidden` unless the actor's authority acts for ``producer``: the
    central council for all, a province for its own producers."""
    authority = authority_of(session, actor=actor)
    if authority.kind == AuthorityKind.PROVINCE and producer.province_code != (
        authority.province_code
    ):
        raise Forbidden("a provincial authority acts for producers of its own province only")


def key_indexes_of(session: Session, *, actor: Actor) -> list[int] | None:
    """Return the indexes of the signing keys whose stamps the actor answers for (``None``:
    all, the central council). Raises :class:`Forbidden` for a token of no authority."""
    authority = authority_of(session, actor=actor)
    if authority.kind == AuthorityKind.CENTRAL:
        return None
    return list(
        session.scalars(select(SigningKey.index).where(SigningKey.authority_id == authority.id))
    )


def answers_for_key(session: Session, *, actor: Actor, key_index: int | None) -> bool:
    """Return whether the actor answers for the stamps of ``key_index`` (see
    :func:`key_indexes_of`)."""
    keys = key_indexes_of(session, actor=actor)
    return keys is None or key_index in keys


def require_key(session: Session, *, actor: Actor, key_index: int | None, refusal: str) -> None:
    """Raise :class:`Forbidden` with ``refusal`` unless the actor answers for the stamps of
    ``key_index``."""
    if not answers_for_key(session, actor=actor, key_index=key_index):
        raise Forbidden(refusal)
