"""Registry writes: authorities register and change, producers order stamp batches."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from verifier import registry
from verifier.service_errors import Invalid, TooLarge
from verifier.store.models import Certificate, Producer, ProducerKind, Product, ProductGroup, Role
from verifier.web.deps import SERIAL_LIMIT, ActorDep, KeyIndex, Now, RowId, Serial, ServiceDep
from verifier.web.inputs import Line

router = APIRouter(prefix="/api/v1", tags=["registry"])

PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}


class ProducerIn(BaseModel):
    legal_name: Line = Field(min_length=2, max_length=300)
    kind: ProducerKind
    registration_number: Line = Field(min_length=3, max_length=32)
    address: Line = Field(min_length=3, max_length=500)
    province_code: str = Field(pattern=r"^[0-9]{2}$")
    commune_code: str | None = Field(default=None, pattern=r"^[0-9]{1,16}$")
    gln: str | None = Field(default=None, max_length=13, description="GS1 GLN, 13 digits")


class ProductIn(BaseModel):
    name: Line = Field(min_length=2, max_length=300)
    product_group: ProductGroup
    pack_description: Line = Field(min_length=1, max_length=500)
    gtin: str | None = Field(
        default=None, max_length=14, description="GS1 GTIN-8, -12, -13 or -14 (check digit checked)"
    )


class CertificateIn(BaseModel):
    product_id: RowId
    stars: int = Field(ge=3, le=5)
    decision_number: Line = Field(min_length=3, max_length=64)
    decision_date: date
    legal_basis: Line | None = Field(default=None, max_length=300)


class RevokeIn(BaseModel):
    decision: Line = Field(min_length=3, max_length=64)
    decision_date: date
    reason: Line = Field(min_length=3, max_length=500)


class ReevaluateIn(BaseModel):
    stars: int = Field(ge=3, le=5)
    decision_number: Line = Field(min_length=3, max_length=64)
    decision_date: date


class SupersedeIn(BaseModel):
    superseded_by: RowId = Field(description="The certificate that replaces it")


def producer_json(p: Producer) -> dict[str, Any]:
    return {
        "id": p.id,
        "legal_name": p.legal_name,
        "kind": p.kind,
        "registration_number": p.registration_number,
        "address": p.address,
        "province_code": p.province_code,
        "commune_code": p.commune_code,
        "gln": p.gln,
    }


def product_json(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "producer_id": p.producer_id,
        "name": p.name,
        "product_group": p.product_group,
        "pack_description": p.pack_description,
        "gtin": p.gtin,
    }


def certificate_json(c: Certificate) -> dict[str, Any]:
    return {
        "id": c.id,
        "product_id": c.product_id,
        "issuer": c.authority.code,
        "stars": c.stars,
        "decision_number": c.decision_number,
        "decision_date": c.decision_date.isoformat(),
        "legal_basis": c.legal_basis,
        "valid_until": c.valid_until.isoformat(),
        "status": c.status,
        "revocation_decision": c.revocation_decision,
        "revocation_reason": c.revocation_reason,
        "replaces_id": c.replaces_id,
        "superseded_by_id": c.superseded_by_id,
    }


@router.post("/producers", status_code=201, summary="Register a producer (authority)")
def create_producer(
    body: ProducerIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        producer = registry.register_producer(session, actor=actor, now=now, **body.model_dump())
        return producer_json(producer)


@router.post(
    "/producers/{producer_id}/products", status_code=201, summary="Register a product (authority)"
)
def create_product(
    producer_id: RowId, body: ProductIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        product = registry.register_product(
            session, actor=actor, producer_id=producer_id, now=now, **body.model_dump()
        )
        return product_json(product)


@router.put("/products/{product_id}/label", summary="Upload the label photo (authority)")
async def upload_label(
    product_id: RowId,
    file: Annotated[UploadFile, File()],
    service: ServiceDep,
    actor: ActorDep,
    now: Now,
) -> dict[str, Any]:
    if file.content_type not in PHOTO_TYPES:
        raise Invalid("the label photo must be JPEG, PNG or WebP")
    limit = service.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the photo is larger than {limit // (1024 * 1024)} MB")
    with service.write() as session:
        product = registry.set_label_photo(
            session,
            actor=actor,
            product_id=product_id,
            photo=data,
            content_type=str(file.content_type),
            now=now,
        )
        return product_json(product)


@router.post("/certificates", status_code=201, summary="Record a recognition (authority)")
def create_certificate(
    body: CertificateIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        certificate = registry.register_certificate(
            session,
            actor=actor,
            product_id=body.product_id,
            stars=body.stars,
            decision_number=body.decision_number,
            decision_date=body.decision_date,
            now=now,
            legal_basis=body.legal_basis,
        )
        return certificate_json(certificate)


@router.get("/certificates/{certificate_id}", summary="A certificate")
def read_certificate(certificate_id: RowId, service: ServiceDep) -> dict[str, Any]:
    with service.sessions() as session:
        return certificate_json(registry.get(session, Certificate, certificate_id))


@router.post("/certificates/{certificate_id}/revoke", summary="Revoke (authority)")
def revoke(
    certificate_id: RowId, body: RevokeIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        certificate = registry.revoke_certificate(
            session,
            actor=actor,
            certificate_id=certificate_id,
            decision=body.decision,
            decision_date=body.decision_date,
            reason=body.reason,
            now=now,
        )
        return certificate_json(certificate)


@router.post(
    "/certificates/{certificate_id}/reevaluate",
    status_code=201,
    summary="Re-evaluate: a new certificate supersedes this one (authority)",
)
def reevaluate(
    certificate_id: RowId, body: ReevaluateIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        certificate = registry.reevaluate_certificate(
            session,
            actor=actor,
            certificate_id=certificate_id,
            stars=body.stars,
            decision_number=body.decision_number,
            decision_date=body.decision_date,
            now=now,
        )
        return certificate_json(certificate)


@router.post(
    "/certificates/{certificate_id}/supersede",
    summary="Supersede by another certificate of the product (its issuing authority)",
)
def supersede(
    certificate_id: RowId,
    body: SupersedeIn,
    service: ServiceDep,
    actor: ActorDep,
    now: Now,
) -> dict[str, Any]:
    with service.write() as session:
        certificate = registry.supersede_certificate(
            session,
            actor=actor,
            certificate_id=certificate_id,
            successor_id=body.superseded_by,
            now=now,
        )
        return certificate_json(certificate)


class CompromiseIn(BaseModel):
    last_serial: int = Field(
        ge=0, lt=SERIAL_LIMIT, description="Highest serial issued before the leak"
    )


@router.post("/keys/{key_index}/compromise", summary="Mark a signing key compromised (authority)")
def compromise(
    key_index: KeyIndex, body: CompromiseIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        key = registry.mark_key_compromised(
            session, actor=actor, key_index=key_index, last_serial=body.last_serial, now=now
        )
        return {"index": key.index, "status": key.status, "last_serial": key.last_serial}


class BlockIn(BaseModel):
    key_index: KeyIndex
    first_serial: Serial
    last_serial: Serial
    reason: Line = Field(min_length=3, max_length=500)


@router.post(
    "/blocked-serials",
    status_code=201,
    summary="Block cloned serials (an inspector one it checked; an authority its keys' ranges)",
)
def block(body: BlockIn, service: ServiceDep, actor: ActorDep, now: Now) -> dict[str, Any]:
    if actor.role is Role.INSPECTOR:
        service.recorder.flush()  # the check the inspector just made is then on record
    with service.write() as session:
        blocked = registry.block_serials(
            session,
            actor=actor,
            key_index=body.key_index,
            first_serial=body.first_serial,
            last_serial=body.last_serial,
            reason=body.reason,
            now=now,
            limits=service.settings.inspector_blocks,
        )
        return {"id": blocked.id, **body.model_dump()}
