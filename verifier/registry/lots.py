"""Production lots, declared by the producer (or the authority of its province) for
traceability (Circular 02/2024/TT-BKHCN): the lot number, its dates and quantity, the standards
applied, the origin of its main raw materials (one step back), its processing stages (what,
where, when; added as they happen, never changed) and its documents. What a lot says is the
producer's declaration, kept apart from what the authority signs (the stamp)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing.dates import format_time, vietnam_date
from verifier.provinces import province
from verifier.registry.actors import Actor, audit, get, require_province
from verifier.registry.gs1_keys import gln_of, lot_number_of
from verifier.service_errors import Conflict, Forbidden, Invalid
from verifier.store.models import Batch, BatchLot, Certificate, Lot, Product, Role

__all__ = [
    "LOT_LIMITS",
    "LotDocument",
    "LotLimits",
    "Origin",
    "Stage",
    "add_lot_stage",
    "label_lots",
    "lot_json",
    "lots_of_product",
    "lots_of_stamp",
    "record_lot",
]


@dataclass(frozen=True, slots=True)
class LotLimits:
    """How much one lot may declare: enough for any real product, bounded for every request."""

    standards: int = 10
    origins: int = 20
    stages: int = 50
    documents: int = 20


LOT_LIMITS = LotLimits()


@dataclass(frozen=True, slots=True)
class Origin:
    """A main raw material and where it comes from: a province (and commune) of Vietnam, a
    GLN if the place has one, the supplier, the harvest date."""

    material: str
    province_code: str
    commune_code: str | None = None
    gln: str | None = None
    supplier: str | None = None
    harvested_on: date | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """A processing stage: what was done, where (a place, its province, optionally its commune
    and GLN), when, and the stage's own trace code if the producer keeps one."""

    step: str
    place: str
    province_code: str
    at: datetime
    commune_code: str | None = None
    gln: str | None = None
    trace_code: str | None = None


@dataclass(frozen=True, slots=True)
class LotDocument:
    """A document of the lot: a test result, a certificate of a standard."""

    title: str
    issuer: str
    issued_on: date
    reference: str | None = None


def _stored(item: Origin | Stage | LotDocument) -> dict[str, Any]:
    """Return ``item`` as the JSON the ``lots`` table keeps (dates and times in ISO 8601)."""
    return {name: _json_value(value) for name, value in asdict(item).items()}


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _place(province_code: str, gln: str | None, what: str) -> str | None:
    """Check a place's province and GLN; return the GLN as kept. Raises :class:`Invalid`."""
    if province(province_code) is None:
        raise Invalid(f"{what}: not a province code: {province_code} (two digits, e.g. 01)")
    return None if gln is None else gln_of(gln)


def _checked_origin(origin: Origin, produced_on: date) -> dict[str, Any]:
    gln = _place(origin.province_code, origin.gln, f"origin of {origin.material}")
    if origin.harvested_on is not None and origin.harvested_on > produced_on:
        raise Invalid(f"{origin.material} was harvested after the lot was produced")
    return _stored(Origin(**{**asdict(origin), "gln": gln}))


def _checked_stage(stage: Stage, now: datetime) -> dict[str, Any]:
    gln = _place(stage.province_code, stage.gln, f"stage {stage.step}")
    if stage.at.tzinfo is None:
        raise Invalid(f"stage {stage.step}: give its time with a time zone (+07:00)")
    if stage.at > now + timedelta(hours=1):
        raise Invalid(f"stage {stage.step} is dated in the future")
    return _stored(Stage(**{**asdict(stage), "gln": gln}))


def _writable(session: Session, *, actor: Actor, product: Product) -> None:
    """Raise unless the actor declares lots of ``product``: its producer, or the authority of
    the producer's province (:class:`Forbidden`)."""
    actor.require(Role.PRODUCER, Role.AUTHORITY)
    if actor.role is Role.PRODUCER:
        if product.producer_id != actor.producer_id:
            raise Forbidden("a producer declares lots of its own products only")
    else:
        require_province(session, actor=actor, producer=product.producer)


def record_lot(
    session: Session,
    *,
    actor: Actor,
    product_id: int,
    lot_number: str,
    produced_on: date,
    now: datetime,
    best_before: date | None = None,
    expires_on: date | None = None,
    quantity: int | None = None,
    quantity_unit: str | None = None,
    standards: Iterable[str] = (),
    origins: Iterable[Origin] = (),
    stages: Iterable[Stage] = (),
    documents: Iterable[LotDocument] = (),
) -> Lot:
    """Record a lot of ``product_id`` and audit it (``lot.record``). Raises :class:`Forbidden`
    for another producer's product, :class:`Conflict` for a lot number the product already
    has, and :class:`Invalid` for a lot number outside GS1's rules, dates out of order (made
    after today, best before or expiring before it was made, a material harvested after it),
    a quantity below 1, a place that is not a province or has a wrong GLN, or more items than
    :data:`LOT_LIMITS` allows."""
    product = get(session, Product, product_id)
    _writable(session, actor=actor, product=product)
    number = lot_number_of(lot_number)
    if produced_on > vietnam_date(now):
        raise Invalid("a lot is recorded once made: its production date is after today")
    for name, day in (("best before", best_before), ("expiry", expires_on)):
        if day is not None and day < produced_on:
            raise Invalid(f"the {name} date is before the production date")
    if quantity is not None and quantity < 1:
        raise Invalid("a lot's quantity is at least 1")
    standards, origins, stages, documents = (
        list(standards), list(origins), list(stages), list(documents)
    )  # fmt: skip
    for name, items in (("standards", standards), ("origins", origins), ("stages", stages),
                        ("documents", documents)):  # fmt: skip
        if len(items) > getattr(LOT_LIMITS, name):
            raise Invalid(f"a lot declares at most {getattr(LOT_LIMITS, name)} {name}")
    taken = select(Lot.id).where(Lot.product_id == product.id, Lot.lot_number == number)
    if session.scalar(taken) is not None:
        raise Conflict(f"product {product.id} already has a lot {number}")
    lot = Lot(
        product_id=product.id,
        lot_number=number,
        produced_on=produced_on,
        best_before=best_before,
        expires_on=expires_on,
        quantity=quantity,
        quantity_unit=quantity_unit,
        standards=standards,
        origins=[_checked_origin(o, produced_on) for o in origins],
        stages=sorted((_checked_stage(s, now) for s in stages), key=lambda s: str(s["at"])),
        documents=[_stored(d) for d in documents],
        declared_by=actor.label,
        declared_at=now,
        updated_at=now,
    )
    session.add(lot)
    session.flush()
    audit(session, actor, "lot.record", "lot", lot.id, now, product=product.id, lot=number)
    return lot


def add_lot_stage(
    session: Session, *, actor: Actor, lot_id: int, stage: Stage, now: datetime
) -> Lot:
    """Add a processing stage to lot ``lot_id`` (stages are only added, in time order) and
    audit it (``lot.stage``). Raises as :func:`record_lot` does."""
    lot = get(session, Lot, lot_id)
    _writable(session, actor=actor, product=lot.product)
    if len(lot.stages) >= LOT_LIMITS.stages:
        raise Invalid(f"a lot declares at most {LOT_LIMITS.stages} stages")
    lot.stages = sorted([*lot.stages, _checked_stage(stage, now)], key=lambda s: str(s["at"]))
    lot.updated_at = now
    audit(session, actor, "lot.stage", "lot", lot.id, now, step=stage.step)
    return lot


LOTS_SHOWN = 100  # the newest lots of a product a list answers: a page, not the whole history


def lots_of_product(session: Session, *, product_id: int, limit: int = LOTS_SHOWN) -> list[Lot]:
    """Return the newest ``limit`` lots of ``product_id``, newest first (what anyone may read:
    the producer's declarations)."""
    query = select(Lot).where(Lot.product_id == product_id)
    query = query.order_by(Lot.produced_on.desc(), Lot.id.desc()).limit(limit)
    return list(session.scalars(query))


def label_lots(session: Session, *, batch: Batch, lot_ids: Iterable[int]) -> None:
    """Record that ``batch`` labels the lots ``lot_ids``, which must be of its certificate's
    product. Raises :class:`Invalid` for a lot of another product (or none)."""
    product_id = get(session, Certificate, batch.certificate_id).product_id
    for lot_id in dict.fromkeys(lot_ids):
        lot = session.get(Lot, lot_id)
        if lot is None or lot.product_id != product_id:
            raise Invalid.refusal("lot_not_of_product", lot=lot_id)
        session.add(BatchLot(batch_id=batch.id, lot_id=lot.id))


def lots_of_stamp(session: Session, *, key_index: int, serial: int) -> list[Lot]:
    """Return the lots labelled by the batch that holds serial ``serial`` of key
    ``key_index`` (none when no batch holds it)."""
    holds = (Batch.first_serial <= serial) & (Batch.last_serial >= serial)
    query = (
        select(Lot)
        .join(BatchLot, BatchLot.lot_id == Lot.id)
        .join(Batch, Batch.id == BatchLot.batch_id)
        .where(Batch.key_index == key_index, holds)
    )
    return list(session.scalars(query.order_by(Lot.id)))


def lot_json(lot: Lot) -> dict[str, Any]:
    """Return a lot as the API and the pages show it."""
    return {
        "id": lot.id,
        "product_id": lot.product_id,
        "lot_number": lot.lot_number,
        "produced_on": lot.produced_on.isoformat(),
        "best_before": None if lot.best_before is None else lot.best_before.isoformat(),
        "expires_on": None if lot.expires_on is None else lot.expires_on.isoformat(),
        "quantity": lot.quantity,
        "quantity_unit": lot.quantity_unit,
        "standards": lot.standards,
        "origins": lot.origins,
        "stages": lot.stages,
        "documents": lot.documents,
        "declared_by": lot.declared_by,
        "declared_at": format_time(lot.declared_at),
    }
