"""Stamp batches: order one, look at it, download its print-ready files (streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from signing import SigningRefused
from stamps.sheet import MAX_STAMP_MM, MIN_STAMP_MM, Layout
from verifier import printing, registry
from verifier.deps import ActorDep, Now, ServiceDep
from verifier.errors import Conflict, Invalid
from verifier.models import Batch, SigningKey

router = APIRouter(prefix="/api/v1", tags=["batches"])


class BatchIn(BaseModel):
    certificate_id: int = Field(ge=1)
    count: int = Field(ge=1, le=registry.MAX_BATCH)


class VoidIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


def batch_json(b: Batch) -> dict[str, Any]:
    """Return a batch as the API shows it, with the links to its files."""
    files = {kind: f"/api/v1/batches/{b.id}/stamps.{kind}" for kind in printing.MEDIA_TYPES}
    return {
        "id": b.id,
        "certificate_id": b.certificate_id,
        "key_index": b.key_index,
        "first_serial": b.first_serial,
        "last_serial": b.last_serial,
        "count": b.count,
        "stars": b.stars,
        "valid_until": b.valid_until.isoformat(),
        "state": b.state,
        "created_at": b.created_at.isoformat(),
        "void_reason": b.void_reason,
        "files": files if b.state == "issued" else {},
    }


@router.post("/batches", status_code=201, summary="Order a stamp batch (producer, authority)")
def create_batch(body: BatchIn, service: ServiceDep, actor: ActorDep, now: Now) -> dict[str, Any]:
    with service.write(now) as session:
        batch = registry.allocate_batch(session, actor, body.certificate_id, body.count, now)
        return batch_json(batch)


@router.get("/batches/{batch_id}", summary="A batch (its producer, its authority)")
def get_batch(batch_id: int, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    with service.sessions() as session:
        return batch_json(registry.batch_for(session, actor, batch_id)[0])


@router.post("/batches/{batch_id}/void", summary="Void a batch (authority)")
def void(
    batch_id: int, body: VoidIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write(now) as session:
        return batch_json(registry.void_batch(session, actor, batch_id, body.reason, now))


@router.get(
    "/batches/{batch_id}/stamps.{kind}",
    summary="The batch's print-ready PDF, CSV manifest or ZIP of PNGs, streamed",
    response_class=StreamingResponse,
)
def download(
    batch_id: int,
    kind: Literal["pdf", "csv", "zip"],
    service: ServiceDep,
    actor: ActorDep,
    now: Now,
    layout: Literal["sheet", "roll"] = "sheet",
    paper: Literal["A4", "A5", "Letter"] = "A4",
    stamp_size: Annotated[float, Query(ge=MIN_STAMP_MM, le=MAX_STAMP_MM)] = 20.0,
    margin: Annotated[float | None, Query(ge=0, le=50)] = None,
    gap: Annotated[float, Query(ge=0, le=50)] = 3.0,
    cut_marks: bool = False,
) -> StreamingResponse:
    try:
        if layout == "roll":
            page_layout = Layout.roll(stamp_size, 1.5 if margin is None else margin)
        else:
            page_layout = Layout.sheet(
                paper, stamp_size, 10.0 if margin is None else margin, gap, cut_marks
            )
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    with service.sessions() as session:
        batch, certificate = registry.printable_batch(session, actor, batch_id, now)
        key = registry.get(session, SigningKey, batch.key_index)
        spec, source = printing.batch_source(
            service, batch, certificate, key, now, with_pngs=kind == "zip"
        )
        title = f"OCOP {certificate.product.name} - batch {batch.id}"
    writer = printing.writer(kind, page_layout, spec.host, title)
    pieces = (piece for (piece,) in printing.stream(spec, source, [writer]))
    try:
        first = next(pieces)  # signing problems surface here, before the answer starts
    except SigningRefused as exc:
        raise Conflict(f"these stamps cannot be signed now: {exc.detail}") from None
    return StreamingResponse(
        _non_empty(chain([first], pieces)),
        media_type=printing.MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="ocop-batch-{batch.id}.{kind}"'},
    )


def _non_empty(pieces: Iterator[bytes]) -> Iterator[bytes]:
    return (piece for piece in pieces if piece)
