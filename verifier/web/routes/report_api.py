"""Inspector reports of misuse, filed from the scanner, offline or not (idempotent uploads)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from signing import MalformedStamp, VerdictCode, parse_stamp
from verifier import registry
from verifier.service_errors import Invalid
from verifier.store.models import Report
from verifier.web.deps import ActorDep, Now, ServiceDep
from verifier.web.inputs import Line, Text

router = APIRouter(prefix="/api/v1", tags=["reports"])

_DATA_URL = re.compile(r"data:(image/(?:jpeg|png|webp));base64,([A-Za-z0-9+/=]+)")
MAX_PHOTO_BYTES = 2 * 1024 * 1024


class ReportIn(BaseModel):
    client_id: str = Field(pattern=r"^[A-Za-z0-9-]{8,64}$")
    created_at: datetime
    code: Line = Field(min_length=1, max_length=2048)
    verdict: VerdictCode
    stars_seen: int | None = Field(default=None, ge=1, le=5)
    shop_name: Line = Field(min_length=1, max_length=200)
    address: Line = Field(min_length=1, max_length=300)
    note: Text = Field(default="", max_length=2000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    photos: list[str] = Field(default_factory=list, max_length=registry.MAX_REPORT_PHOTOS)


def report_json(report: Report) -> dict[str, Any]:
    """Return a report as the API shows it (photos counted, not sent back)."""
    return {
        "id": report.id,
        "client_id": report.client_id,
        "created_at": report.created_at.isoformat(),
        "received_at": report.received_at.isoformat(),
        "verdict": report.verdict,
        "key_index": report.key_index,
        "serial": report.serial,
        "stars_seen": report.stars_seen,
        "shop_name": report.shop_name,
        "address": report.address,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "note": report.note,
        "status": report.status,
        "photos": len(report.photos),
    }


def _photos(data_urls: list[str]) -> list[tuple[str, bytes]]:
    photos = []
    for index, url in enumerate(data_urls):
        match = _DATA_URL.fullmatch(url)
        if match is None:
            raise Invalid(f"photo {index + 1} is not a JPEG, PNG or WebP data URL")
        try:
            data = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            raise Invalid(f"photo {index + 1} is not valid base64") from None
        if len(data) > MAX_PHOTO_BYTES:
            raise Invalid(f"photo {index + 1} is larger than {MAX_PHOTO_BYTES} bytes")
        photos.append((match.group(1), data))
    return photos


@router.post(
    "/reports",
    status_code=201,
    summary="File a misuse report (inspector); sending the same client_id again changes nothing",
)
def file_report(
    body: ReportIn, response: Response, service: ServiceDep, actor: ActorDep, now: Now
) -> dict[str, Any]:
    if body.created_at.tzinfo is None:
        raise Invalid("created_at needs its time zone")
    key_index: int | None = None
    serial: int | None = None
    try:
        payload = parse_stamp(body.code).payload
        key_index, serial = payload.key_index, payload.serial
    except MalformedStamp:
        pass  # a report on something that is not a stamp at all is still a report
    fields = {
        **body.model_dump(exclude={"photos"}),
        "key_index": key_index,
        "serial": serial,
    }
    with service.writer.begin() as session:
        report, created = registry.file_report(
            session, actor=actor, fields=fields, photos=_photos(body.photos), now=now
        )
        if not created:
            response.status_code = 200
        return report_json(report)


@router.get("/reports", summary="The inspector's own reports, newest first")
def my_reports(service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    with service.sessions() as session:
        return {"reports": [report_json(r) for r in registry.reports_of(session, actor=actor)]}
