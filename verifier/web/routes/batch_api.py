"""Stamp batches: order one, look at it, download its print-ready files (streamed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from stamps.print_files import MEDIA_TYPES, FileKind
from stamps.sheet import (
    DEFAULT_GAP_MM,
    DEFAULT_PAPER,
    DEFAULT_STAMP_MM,
    MAX_STAMP_MM,
    MIN_STAMP_MM,
    Layout,
)
from verifier import registry
from verifier.registry import Actor, StampForm
from verifier.service import Service
from verifier.service_errors import Invalid
from verifier.store.models import Batch
from verifier.web.deps import ActorDep, IdempotencyKey, Now, RowId, ServiceDep
from verifier.web.inputs import Line
from verifier.web.stamp_downloads import signed_file

router = APIRouter(prefix="/api/v1", tags=["batches"])


class BatchIn(BaseModel):
    certificate_id: RowId
    count: int = Field(ge=1, le=registry.MAX_BATCH)
    markets: list[str] = Field(
        default_factory=list, max_length=34,
        description="province codes where the batch is sold, e.g. [\"01\", \"79\"]",
    )  # fmt: skip
    lots: list[RowId] = Field(
        default_factory=list, max_length=20,
        description="the lots of the product the stamps label (POST /products/{id}/lots)",
    )  # fmt: skip
    claims: bool = Field(
        default=False, description="print every stamp with a PIN under scratch-off foil, for a "
        "one-time claim (POST /api/v1/claims) and the check by SMS",
    )  # fmt: skip


class VoidIn(BaseModel):
    reason: Line = Field(min_length=3, max_length=500)


def batch_json(b: Batch) -> dict[str, Any]:
    """Return a batch as the API shows it, with the links to its files."""
    files = {kind: f"/api/v1/batches/{b.id}/stamps.{kind}" for kind in MEDIA_TYPES}
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
        "markets": b.market_codes,
        "claims": b.claim_secret is not None,
        "files": files if b.state == "issued" else {},
    }


def order_batch(
    service: Service,
    actor: Actor,
    now: datetime,
    order: BatchIn,
    idempotency_key: str | None,
) -> tuple[Batch, bool]:
    """Return the batch ordered and whether it is new. An order sent again with the same
    ``idempotency_key`` (by the same token) returns the batch the first one made, even when
    both arrive together, and allocates nothing. Raises what :func:`registry.allocate_batch`
    and :func:`registry.batch_ordered_with` raise."""
    digest = registry.order_digest(
        certificate_id=order.certificate_id, count=order.count, markets=order.markets,
        claims=order.claims,
    )  # fmt: skip
    if idempotency_key is not None:
        with service.sessions() as session:
            earlier = registry.batch_ordered_with(
                session, actor=actor, idempotency_key=idempotency_key, digest=digest
            )
        if earlier is not None:
            return earlier, False
    try:
        with service.write() as session:
            batch = registry.allocate_batch(
                session,
                actor=actor,
                certificate_id=order.certificate_id,
                count=order.count,
                now=now,
                markets=order.markets,
                idempotency_key=idempotency_key,
                claims=order.claims,
            )
            registry.label_lots(session, batch=batch, lot_ids=order.lots)
    except IntegrityError:
        if idempotency_key is None:
            raise
        with service.sessions() as session:  # the same order, sent twice at once: one won
            earlier = registry.batch_ordered_with(
                session, actor=actor, idempotency_key=idempotency_key, digest=digest
            )
        if earlier is None:
            raise
        return earlier, False
    return batch, True


@router.post(
    "/batches",
    status_code=201,
    summary="Order a stamp batch (producer, authority); retry safely with an Idempotency-Key",
)
def create_batch(
    body: BatchIn,
    response: Response,
    service: ServiceDep,
    actor: ActorDep,
    now: Now,
    idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
) -> dict[str, Any]:
    batch, created = order_batch(service, actor, now, body, idempotency_key)
    if not created:
        response.status_code = 200
    return batch_json(batch)


@router.get("/batches/{batch_id}", summary="A batch (its producer, its authority)")
def get_batch(batch_id: RowId, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    with service.sessions() as session:
        return batch_json(registry.batch_for(session, actor=actor, batch_id=batch_id)[0])


@router.post("/batches/{batch_id}/void", summary="Void a batch (authority)")
def void(
    batch_id: RowId, body: VoidIn, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    with service.write() as session:
        return batch_json(
            registry.void_batch(
                session, actor=actor, batch_id=batch_id, reason=body.reason, now=now
            )
        )


class PrintOptions(BaseModel):
    """How the stamps are laid out (query parameters of a download)."""

    layout: Literal["sheet", "roll"] = "sheet"
    paper: Literal["A4", "A5", "Letter"] = DEFAULT_PAPER
    stamp_size: float = Field(DEFAULT_STAMP_MM, ge=MIN_STAMP_MM, le=MAX_STAMP_MM)
    margin: float | None = Field(None, ge=0, le=50)
    gap: float = Field(DEFAULT_GAP_MM, ge=0, le=50)
    cut_marks: bool = False
    form: StampForm = Field(
        "decimal",
        description="the QR's text: https://HOST/s/DIGITS, or the GS1 Digital Link "
        "https://HOST/01/GTIN/21/...?8030=... (products with a GTIN, stamps of 19 mm or more)",
    )

    def page_layout(self) -> Layout:
        """Return the layout. Raises :class:`Invalid` when no stamp fits, or the stamps are
        too small for the form's QR code."""
        try:
            layout = Layout.of_kind(
                self.layout, self.paper, self.stamp_size, self.margin, self.gap, self.cut_marks
            )
            layout.check_form(self.form)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        return layout


def batch_file(
    service: Service,
    actor: Actor,
    batch_id: int,
    kind: FileKind,
    options: PrintOptions,
    now: datetime,
) -> StreamingResponse:
    """Return the streamed file of a batch, whose codes the signer signs. Raises
    :class:`ServiceError` subclasses (before anything is sent) for a batch that may not be
    printed, or a signer that refuses or does not answer."""
    layout = options.page_layout()
    file = signed_file(service, actor=actor, batch_id=batch_id, kind=kind, layout=layout,
                       form=options.form, now=now)  # fmt: skip
    return StreamingResponse(
        iter(file),
        media_type=MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="ocop-batch-{batch_id}.{kind}"'},
    )


@router.get(
    "/batches/{batch_id}/stamps.{kind}",
    summary="The batch's print-ready PDF, CSV manifest or ZIP of PNGs, streamed",
    response_class=StreamingResponse,
)
def download(
    batch_id: RowId,
    kind: Literal["pdf", "csv", "zip"],
    options: Annotated[PrintOptions, Query()],
    service: ServiceDep,
    actor: ActorDep,
    now: Now,
) -> StreamingResponse:
    return batch_file(service, actor, batch_id, kind, options, now)
