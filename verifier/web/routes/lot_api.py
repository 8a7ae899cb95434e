"""Production lots: declared by a producer (or its province's authority), read by anyone (the
producer's declarations are what a buyer traces; the stamp is what the authority signs)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from verifier import registry
from verifier.registry import LOT_LIMITS
from verifier.store.models import Lot
from verifier.web.deps import ActorDep, Now, RowId, ServiceDep
from verifier.web.inputs import Line

router = APIRouter(prefix="/api/v1", tags=["lots"])

ProvinceCode = Field(pattern=r"^[0-9]{2}$", description="two digits, e.g. 01 (Hà Nội)")
CommuneCode = Field(default=None, pattern=r"^[0-9]{1,16}$")
GlnField = Field(default=None, max_length=13, description="GS1 GLN of the place, 13 digits")


class OriginIn(BaseModel):
    material: Line = Field(min_length=2, max_length=200)
    province_code: str = ProvinceCode
    commune_code: str | None = CommuneCode
    gln: str | None = GlnField
    supplier: Line | None = Field(default=None, max_length=300)
    harvested_on: date | None = None


class StageIn(BaseModel):
    step: Line = Field(min_length=2, max_length=200, description="what was done")
    place: Line = Field(min_length=2, max_length=300, description="where")
    province_code: str = ProvinceCode
    at: AwareDatetime = Field(description="when (ISO 8601 with a time zone)")
    commune_code: str | None = CommuneCode
    gln: str | None = GlnField
    trace_code: Line | None = Field(default=None, max_length=64)


class DocumentIn(BaseModel):
    title: Line = Field(min_length=2, max_length=300)
    issuer: Line = Field(min_length=2, max_length=300)
    issued_on: date
    reference: Line | None = Field(default=None, max_length=100)


class LotIn(BaseModel):
    lot_number: str = Field(min_length=1, max_length=40, description="GS1 AI 10: 1-20 chars")
    produced_on: date
    best_before: date | None = None
    expires_on: date | None = None
    quantity: int | None = Field(default=None, ge=1, le=10**9)
    quantity_unit: Line | None = Field(default=None, max_length=16)
    standards: list[Line] = Field(default_factory=list, max_length=LOT_LIMITS.standards)
    origins: list[OriginIn] = Field(default_factory=list, max_length=LOT_LIMITS.origins)
    stages: list[StageIn] = Field(default_factory=list, max_length=LOT_LIMITS.stages)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=LOT_LIMITS.documents)


def _stage(stage: StageIn) -> registry.Stage:
    return registry.Stage(**stage.model_dump())


@router.post(
    "/products/{product_id}/lots", status_code=201,
    summary="Declare a production lot (the product's producer, or its province's authority)",
)  # fmt: skip
def create_lot(
    product_id: RowId, body: LotIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        lot = registry.record_lot(
            session, actor=actor, product_id=product_id, now=now,
            lot_number=body.lot_number, produced_on=body.produced_on,
            best_before=body.best_before, expires_on=body.expires_on,
            quantity=body.quantity, quantity_unit=body.quantity_unit,
            standards=body.standards,
            origins=[registry.Origin(**o.model_dump()) for o in body.origins],
            stages=[_stage(s) for s in body.stages],
            documents=[registry.LotDocument(**d.model_dump()) for d in body.documents],
        )  # fmt: skip
        return registry.lot_json(lot)


@router.post("/lots/{lot_id}/stages", status_code=201, summary="Add a processing stage to a lot")
def create_stage(
    lot_id: RowId, body: StageIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        lot = registry.add_lot_stage(session, actor=actor, lot_id=lot_id, stage=_stage(body),
                                     now=now)  # fmt: skip
        return registry.lot_json(lot)


@router.get("/lots/{lot_id}", summary="A lot, as its producer declared it (public)")
def read_lot(lot_id: RowId, service: ServiceDep) -> dict[str, Any]:
    with service.sessions() as session:
        return registry.lot_json(registry.get(session, Lot, lot_id))


@router.get("/products/{product_id}/lots", summary="A product's lots, newest first (public)")
def read_lots(product_id: RowId, service: ServiceDep) -> list[dict[str, Any]]:
    with service.sessions() as session:
        return [registry.lot_json(lot) for lot in
                registry.lots_of_product(session, product_id=product_id)]  # fmt: skip
