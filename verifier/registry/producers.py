"""Producers and their products, registered by the authority of their province."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.registry.actors import Actor, audit, authority_of, get, require_province
from verifier.registry.gs1_keys import gln_of, gtin_of
from verifier.service_errors import Conflict, Forbidden
from verifier.store.models import AuthorityKind, Producer, Product, Role


def register_producer(session: Session, *, actor: Actor, now: datetime, **fields: Any) -> Producer:
    """Register a producer (authority only). Raises :class:`Conflict` on a known registration
    number, :class:`Forbidden` outside the authority's province and :class:`Invalid` for a GLN
    that is not one."""
    actor.require(Role.AUTHORITY)
    authority = authority_of(session, actor=actor)
    if authority.kind == AuthorityKind.PROVINCE and fields["province_code"] != (
        authority.province_code
    ):
        raise Forbidden("a provincial authority registers producers of its own province only")
    if fields.get("gln") is not None:
        fields["gln"] = gln_of(fields["gln"])
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
    session: Session, *, actor: Actor, producer_id: int, now: datetime, **fields: Any
) -> Product:
    """Register a product of ``producer_id`` (authority only); a GTIN is kept as its 14
    digits. Raises :class:`Invalid` for a GTIN that is not one (a wrong check digit)."""
    actor.require(Role.AUTHORITY)
    producer = get(session, Producer, producer_id)
    require_province(session, actor=actor, producer=producer)
    if fields.get("gtin") is not None:
        fields["gtin"] = gtin_of(fields["gtin"])
    product = Product(producer_id=producer.id, created_at=now, **fields)
    session.add(product)
    session.flush()
    audit(session, actor, "product.register", "product", product.id, now, name=product.name)
    return product


def set_label_photo(
    session: Session,
    *,
    actor: Actor,
    product_id: int,
    photo: bytes,
    content_type: str,
    now: datetime,
) -> Product:
    """Store the product's label photo (authority of its province)."""
    actor.require(Role.AUTHORITY)
    product = get(session, Product, product_id)
    require_province(session, actor=actor, producer=product.producer)
    product.label_photo, product.label_photo_type = photo, content_type
    audit(session, actor, "product.photo", "product", product.id, now, bytes=len(photo))
    return product
