"""The producer page's lot forms: declare a production lot, add a processing stage to one.
Each is a plain form post (no JavaScript), checked like the page's other forms, and answered
by a redirect to the page with the lot, or with the error's code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from signing.dates import VIETNAM
from verifier import registry
from verifier.service_errors import Conflict, Invalid, ServiceError
from verifier.web.deps import Now, RowId, ServiceDep
from verifier.web.inputs import Line
from verifier.web.routes.producer_page import Posted

router = APIRouter(prefix="/producer/lots", include_in_schema=False)

Short = Annotated[Line, Form(max_length=40)]
Text = Annotated[Line, Form(max_length=300)]
Optional = Annotated[Line | None, Form(max_length=300)]


def _day(text: str | None) -> date | None:
    """Return a form's date (the browser sends ISO yyyy-mm-dd). Raises :class:`Invalid`."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"not a date: {text!r}") from None


def _moment(text: str) -> datetime:
    """Return a form's ``datetime-local`` (yyyy-mm-ddThh:mm) read as Vietnam time. Raises
    :class:`Invalid`."""
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"not a date and time: {text!r}") from None
    if local.tzinfo is not None:
        raise Invalid("give the local time, without a time zone")
    return local.replace(tzinfo=VIETNAM)


def _refused(error: ServiceError) -> Response:
    code = "lot_taken" if isinstance(error, Conflict) else (
        "lot" if isinstance(error, Invalid) else error.code
    )  # fmt: skip
    return RedirectResponse(f"/producer?error={code}#lots", status_code=303)


@router.post("")
def declare(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    product_id: Annotated[RowId, Form()],
    lot_number: Short,
    produced_on: Short,
    best_before: Annotated[Line | None, Form(max_length=40)] = None,
    quantity: Annotated[int | None, Form(ge=1, le=10**9)] = None,
    quantity_unit: Annotated[Line | None, Form(max_length=16)] = None,
    standards: Optional = None,
    material: Optional = None,
    origin_province: Annotated[Line | None, Form(max_length=2)] = None,
    supplier: Optional = None,
    harvested_on: Annotated[Line | None, Form(max_length=40)] = None,
) -> Response:
    """Declare a lot from the page's form: its dates, quantity, standards (comma-separated)
    and, optionally, the origin of its main raw material."""
    if signed is None:
        return RedirectResponse("/producer?error=expired", status_code=303)
    try:
        made = _day(produced_on)
        if made is None:
            raise Invalid("the production date is missing")
        origins = []
        if material:
            harvested = _day(harvested_on)
            origin = registry.Origin(material=material, province_code=origin_province or "",
                                     supplier=supplier, harvested_on=harvested)  # fmt: skip
            origins.append(origin)
        with service.write() as session:
            lot = registry.record_lot(
                session, actor=signed.actor, product_id=product_id, now=now,
                lot_number=lot_number, produced_on=made, best_before=_day(best_before),
                quantity=quantity, quantity_unit=quantity_unit,
                standards=[s.strip() for s in (standards or "").split(",") if s.strip()],
                origins=origins,
            )  # fmt: skip
            lot_id = lot.id
    except ServiceError as exc:
        return _refused(exc)
    return RedirectResponse(f"/producer?lot={lot_id}#lot-{lot_id}", status_code=303)


@router.post("/{lot_id}/stages")
def add_stage(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    lot_id: RowId,
    step: Text,
    place: Text,
    province_code: Annotated[Line, Form(max_length=2)],
    at: Short,
) -> Response:
    """Add a processing stage to a lot from the page's form; its time is Vietnam time."""
    if signed is None:
        return RedirectResponse("/producer?error=expired", status_code=303)
    try:
        stage = registry.Stage(step=step, place=place, province_code=province_code,
                               at=_moment(at))  # fmt: skip
        with service.write() as session:
            registry.add_lot_stage(session, actor=signed.actor, lot_id=lot_id, stage=stage,
                                   now=now)  # fmt: skip
    except ServiceError as exc:
        return _refused(exc)
    return RedirectResponse(f"/producer?lot={lot_id}#lot-{lot_id}", status_code=303)
