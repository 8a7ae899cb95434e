"""The public verification API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from verifier.service_errors import TooLarge
from verifier.web.deps import Now, OptionalActor, PhotosDep, ServiceDep
from verifier.web.inputs import Line
from verifier.web.views import verdict_body

router = APIRouter(prefix="/api/v1", tags=["verify"])

CODE_LIMIT = 2048


class VerifyRequest(BaseModel):
    """A verification request, as a query string or a JSON body: the one definition of its
    fields and their limits, for the routes and for the hot path (``app.FastVerify``)."""

    code: str = Field(max_length=CODE_LIMIT, description="The stamp URL or its 193 digits")
    stars_seen: int | None = Field(
        default=None, ge=1, le=5, description="Stars printed on the pack (inspectors)"
    )
    device_id: Line | None = Field(
        default=None,
        max_length=64,
        description="Accepted and ignored: a caller can make up as many as it likes, so only"
        " a signed-in inspector's or authority's checks count as evidence, by their token",
    )
    location: Line | None = Field(
        default=None,
        max_length=64,
        description="Coarse location (`lat,lon` or a province code); counted for signed-in"
        " inspectors and authorities only",
    )


def _verify(
    service: ServiceDep, now: Now, actor: OptionalActor, request: VerifyRequest
) -> Response:
    result = service.verify(
        request.code,
        now,
        stars_seen=request.stars_seen,
        role=actor.role.value if actor else "public",
        location=request.location,
        token_id=actor.token_id if actor else None,
    )
    return Response(
        verdict_body(result, service.settings.public_host), media_type="application/json"
    )


@router.get("/verify", summary="Verify a stamp (query string)")
def verify_get(
    service: ServiceDep,
    now: Now,
    actor: OptionalActor,
    request: Annotated[VerifyRequest, Query()],
) -> Response:
    """Return the verdict on a stamp; every call is recorded as a scan."""
    return _verify(service, now, actor, request)


@router.post("/verify", summary="Verify a stamp (JSON body)")
def verify_post(
    service: ServiceDep, now: Now, actor: OptionalActor, request: VerifyRequest
) -> Response:
    """Return the verdict on a stamp; every call is recorded as a scan."""
    return _verify(service, now, actor, request)


@router.post("/verify/image", summary="Verify a photo of a stamp")
async def verify_image(
    service: ServiceDep,
    photos: PhotosDep,
    now: Now,
    actor: OptionalActor,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Decode the QR code in the uploaded photo on the server (in a bounded pool of threads,
    off the event loop), then verify it. Errors: 413 ``photo_too_large``, 422
    ``photo_unreadable`` or ``no_qr_found``, 503 ``photo_busy`` with ``Retry-After``."""
    limit = service.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the photo is larger than {limit // (1024 * 1024)} MB")
    code = await photos.read(data)
    request = VerifyRequest(code=code[:CODE_LIMIT])
    # a witness's check is written before it is answered: not on the event loop
    return await run_in_threadpool(_verify, service, now, actor, request)
