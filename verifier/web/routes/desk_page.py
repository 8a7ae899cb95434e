"""The authority's desk: serials whose scans look copied, inspector reports to follow up,
recognitions expiring soon, and the actions on them (each one lands in the audit log).
Server-rendered, no JavaScript; signed in with a server-side session (verifier/web/signin.py):
every form post passes its same-site and CSRF checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from signing import OcopError, VerdictCode, parse_stamp
from signing.dates import vietnam_date
from verifier import registry
from verifier.claims.claim_findings import claims_to_review
from verifier.i18n.messages import (
    CERTIFICATE_STATES,
    REFUSALS,
    ROLE_NAMES,
    SCAN_PATTERNS,
    SESSION_ENDED,
    Language,
    consumer,
    translate,
    worded,
)
from verifier.registry import Actor
from verifier.scans import clones, findings
from verifier.service import Service
from verifier.service_errors import NotFound, ServiceError, Unauthorized
from verifier.store.models import Role
from verifier.web.deps import Count, KeyIndex, LanguageDep, Now, RowId, Serial, ServiceDep
from verifier.web.inputs import Line, Text
from verifier.web.routes.consumer_pages import render
from verifier.web.signin import SignedIn, SignInArea

router = APIRouter(prefix="/desk", include_in_schema=False)
DESK = SignInArea("/desk", "ocop_desk", frozenset({Role.AUTHORITY}))
router.include_router(DESK.routes())


Posted = Annotated[SignedIn | None, Depends(DESK.posted)]  # a form post's session


_BACK = re.compile(r"/desk(/serials/\d{1,5}/\d{1,15})?")
_SERIAL = re.compile(r"(\d{1,5})-(\d{1,15})")  # as the desk prints serials: 01-000000123


def _back(anchor: str = "", error: str = "", page: str = "/desk") -> RedirectResponse:
    """Redirect to a desk page (only those: ``page`` comes from a form)."""
    page = page if _BACK.fullmatch(page) else "/desk"
    query = f"?error={error}" if error else ""
    return RedirectResponse(f"{page}{query}{anchor}", status_code=303)


Back = Annotated[Line, Form(max_length=40)]
Error = Annotated[Line, Query(max_length=40)]  # a refusal's code, shown by its wording


def _refusals(service: Service, language: Language) -> dict[str, str]:
    """The wording of each refusal the desk may be sent back with (its ``error``: a block's),
    and of the end of a session (``expired``)."""
    limits = service.settings.inspector_blocks
    return {
        "expired": translate(language, SESSION_ENDED),
        **{
            reason: words.format(days=limits.check_days, per_day=limits.per_day)
            for reason, words in worded(REFUSALS, language).items()
            if reason.startswith("block_")  # the desk's own: blocks of serials
        },
    }


@router.get("", response_class=HTMLResponse)
def desk(
    request: Request, service: ServiceDep, language: LanguageDep, now: Now, error: Error = ""
) -> Response:
    signed = DESK.signed_in(request, service, now)
    refusals = _refusals(service, language)
    if signed is None:
        return DESK.sign_in_page(
            request, service, error[:40],
            lambda shown: render(request, "desk.html", language,
                                 {"actor": None, "error": shown, "refusals": refusals}),
        )  # fmt: skip
    actor = signed.actor
    today = vietnam_date(now)
    with service.sessions() as session:
        flagged = registry.flagged_serials(session, actor=actor)
        batches = findings.flagged_batches(session, actor, service.settings.clone_rules)
        claims = claims_to_review(session, actor, service.settings.clone_rules)
        reports = registry.desk_reports(session, actor=actor)
        expiring = registry.expiring_certificates(session, actor=actor, today=today)
        context = {
            "actor": actor, "flagged": flagged, "reports": reports, "expiring": expiring,
            "batches": batches, "claims": claims, "rules": service.settings.clone_rules,
            "patterns": worded(SCAN_PATTERNS, language),
            "error": error[:40], "refusals": refusals, "csrf": signed.csrf,
        }  # fmt: skip
        return render(request, "desk.html", language, context)


@router.post("/block")
def block(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    key_index: Annotated[KeyIndex, Form()],
    serial: Annotated[Serial, Form()],
    reason: Annotated[Line, Form(min_length=3, max_length=500)],
    last_serial: Annotated[Serial | None, Form()] = None,
    back: Back = "/desk",
) -> Response:
    """Block a serial (or the range up to ``last_serial``, a whole batch) as copied: it is in
    the next status list, so offline scanners catch it too."""
    return _act(
        signed, service, now, back, f"#serial-{key_index}-{serial}",
        lambda session, actor: registry.block_serials(
            session, actor=actor, key_index=key_index, first_serial=serial,
            last_serial=last_serial or serial, reason=reason, now=now,
        ),
    )  # fmt: skip


@router.post("/blocks/{block_id}/lift")
def lift_block(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    block_id: RowId,
    reason: Annotated[Line, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Lift a block put by mistake or cleared by an investigation; audited."""
    return _act(
        signed, service, now, back, "#summary",
        lambda session, actor: registry.lift_block(
            session, actor=actor, block_id=block_id, reason=reason, now=now,
        ),
    )  # fmt: skip


@router.post("/serials/{key_index}/{serial}/clear")
def clear_pattern(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    key_index: KeyIndex,
    serial: Serial,
    reason: Annotated[Line, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Clear a serial's clone flag once an investigation found the stamp genuine: only checks
    made from now on count; audited."""
    return _act(
        signed, service, now, back, "#summary",
        lambda session, actor: registry.clear_scan_pattern(
            session, actor=actor, serial=(key_index, serial), reason=reason, now=now,
            forget=service.recorder.clear_pattern,
        ),
    )  # fmt: skip


@router.post("/batches/{batch_id}/void")
def void_batch(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    batch_id: RowId,
    reason: Annotated[Line, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Void a batch: its stamps become unregistered everywhere."""
    return _act(
        signed, service, now, back, f"#batch-{batch_id}",
        lambda session, actor: registry.void_batch(
            session, actor=actor, batch_id=batch_id, reason=reason, now=now,
        ),
    )  # fmt: skip


@router.post("/certificates/{certificate_id}/revoke")
def revoke_certificate(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    certificate_id: RowId,
    decision: Annotated[Line, Form(min_length=3, max_length=64)],
    decision_date: Annotated[Line, Form(max_length=10)],
    reason: Annotated[Line, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Revoke a recognition by decision: all its stamps show "revoked", online and offline.
    The decision date is written dd/mm/yyyy, as on the decision."""
    try:
        decided = datetime.strptime(decision_date.strip(), "%d/%m/%Y").date()
    except ValueError:
        return _back(error="date", page=back)
    return _act(
        signed, service, now, back, f"#certificate-{certificate_id}",
        lambda session, actor: registry.revoke_certificate(
            session, actor=actor, certificate_id=certificate_id, decision=decision,
            decision_date=decided, reason=reason, now=now,
        ),
    )  # fmt: skip


def _act(
    signed: SignedIn | None,
    service: Service,
    now: datetime,
    back: str,
    anchor: str,
    action: Callable[[Session, Actor], object],
) -> Response:
    """Run one desk action in a write transaction (audited by the registry) and go back to
    the page it came from, with the refusal's reason or the error's code if it failed
    (nothing is changed then); to the sign-in form when the session has ended."""
    if signed is None:
        return _back(error="expired")
    try:
        with service.write() as session:
            action(session, signed.actor)
    except ServiceError as exc:
        return _back(error=exc.reason or exc.code, page=back)
    return _back(anchor, page=back)


@router.get("/serials/{key_index}/{serial}", response_class=HTMLResponse)
def serial_page(
    request: Request,
    service: ServiceDep,
    language: LanguageDep,
    key_index: KeyIndex,
    serial: Serial,
    now: Now,
    error: Error = "",
) -> Response:
    """One serial's file: its scans, the places they came from, its batch and certificate,
    and the actions on them."""
    signed = DESK.signed_in(request, service, now)
    if signed is None:
        return _back(error=DESK.signed_out_error(request))
    try:
        with service.sessions() as session:
            file = findings.serial_file(session, signed.actor, key_index, serial, language)
    except ServiceError as exc:
        return _back(error=exc.code)
    context = {
        "actor": signed.actor, "file": file, "error": error[:40], "csrf": signed.csrf,
        "refusals": _refusals(service, language),
        "patterns": worded(SCAN_PATTERNS, language),
        "place": lambda location: findings.place_label(location, language),
        "back": f"/desk/serials/{key_index}/{serial}", "today": vietnam_date(now),
        "verdict_names": {code.value: consumer(code, language)[0] for code in VerdictCode},
        "roles": worded(ROLE_NAMES, language), "statuses": worded(CERTIFICATE_STATES, language),
        "phone": lambda device_id: clones.device_mark(device_id)[:6] if device_id else "—",
    }  # fmt: skip
    return render(request, "desk_serial.html", language, context)


@router.get("/find")
def find(code: Annotated[str, Query(max_length=2048)] = "") -> Response:
    """Open a serial's file from a stamp's code or URL, or ``KK-SSSSSSSSS``."""
    text = code.strip()
    match = _SERIAL.fullmatch(text)
    if match:
        return _back(page=f"/desk/serials/{int(match[1])}/{int(match[2])}")
    try:
        payload = parse_stamp(text).payload
    except OcopError:
        return _back(error="not_a_stamp")
    return _back(page=f"/desk/serials/{payload.key_index}/{payload.serial}")


@router.get("/reports/{report_id}/photos/{number}")
def report_photo(
    request: Request, service: ServiceDep, now: Now, report_id: RowId, number: Count
) -> Response:
    """A photo of an inspector report (the authority's desk only)."""
    signed = DESK.signed_in(request, service, now)
    if signed is None:
        raise Unauthorized("sign in at /desk")
    with service.sessions() as session:
        report = registry.desk_report(session, actor=signed.actor, report_id=report_id)
        if not 0 <= number < len(report.photos):
            raise NotFound("photo of report", number)
        photo = report.photos[number]
        return Response(photo.data, media_type=photo.media_type,
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


@router.post("/reports/{report_id}")
def follow_up(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    report_id: RowId,
    status: Annotated[Line, Form(max_length=16)],
    note: Annotated[Text, Form(max_length=2000)] = "",
) -> Response:
    return _act(
        signed, service, now, "/desk", f"#report-{report_id}",
        lambda session, actor: registry.update_report(
            session, actor=actor, report_id=report_id, status=status, note=note, now=now,
        ),
    )  # fmt: skip
