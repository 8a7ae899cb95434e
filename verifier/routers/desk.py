"""The authority's desk: serials whose scans look copied, inspector reports to follow up,
recognitions expiring soon, and the actions on them (each one lands in the audit log).
Server-rendered, no JavaScript; the token is kept in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from signing import OcopError, parse_stamp
from signing._dates import vietnam_date
from verifier import clones, findings, registry
from verifier.deps import Count, KeyIndex, LanguageDep, Now, RowId, Serial, ServiceDep
from verifier.errors import NotFound, ServiceError, Unauthorized
from verifier.messages import (
    CERTIFICATE_STATES,
    CONSUMER,
    REFUSALS,
    ROLE_NAMES,
    SCAN_PATTERNS,
    Language,
    worded,
)
from verifier.models import Role
from verifier.registry import Actor
from verifier.routers.pages import render
from verifier.service import Service

router = APIRouter(prefix="/desk", include_in_schema=False)
COOKIE = "ocop_desk"


def _actor(service: Service, request: Request) -> Actor | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    with service.sessions() as session:
        actor = registry.actor_for_token(session, token)
    return actor if actor is not None and actor.role is Role.AUTHORITY else None


_BACK = re.compile(r"/desk(/serials/\d{1,5}/\d{1,15})?")
_SERIAL = re.compile(r"(\d{1,5})-(\d{1,15})")  # as the desk prints serials: 01-000000123


def _back(anchor: str = "", error: str = "", page: str = "/desk") -> RedirectResponse:
    """Redirect to a desk page (only those: ``page`` comes from a form)."""
    page = page if _BACK.fullmatch(page) else "/desk"
    query = f"?error={error}" if error else ""
    return RedirectResponse(f"{page}{query}{anchor}", status_code=303)


Back = Annotated[str, Form(max_length=40)]


def _refusals(service: Service, language: Language) -> dict[str, str]:
    """The wording of each refusal the desk may be sent back with (its ``error``)."""
    limits = service.settings.inspector_blocks
    return {
        reason: words[language].format(days=limits.check_days, per_day=limits.per_day)
        for reason, words in REFUSALS.items()
    }


@router.get("", response_class=HTMLResponse)
def desk(
    request: Request, service: ServiceDep, language: LanguageDep, now: Now, error: str = ""
) -> HTMLResponse:
    actor = _actor(service, request)
    refusals = _refusals(service, language)
    if actor is None:
        signed_out = {"actor": None, "error": error[:40], "refusals": refusals}
        return render(request, "desk.html", language, signed_out)
    today = vietnam_date(now)
    with service.sessions() as session:
        flagged = registry.flagged_serials(session, actor)
        batches = findings.flagged_batches(session, actor, service.settings.clone_rules)
        reports = registry.desk_reports(session, actor)
        expiring = registry.expiring_certificates(session, actor, today)
        context = {
            "actor": actor, "flagged": flagged, "reports": reports, "expiring": expiring,
            "batches": batches, "rules": service.settings.clone_rules,
            "patterns": worded(SCAN_PATTERNS, language),
            "error": error[:40], "refusals": refusals,
        }  # fmt: skip
        return render(request, "desk.html", language, context)


@router.post("/sign-in")
def sign_in(service: ServiceDep, token: Annotated[str, Form(max_length=200)]) -> Response:
    with service.sessions() as session:
        actor = registry.actor_for_token(session, token.strip())
    if actor is None or actor.role is not Role.AUTHORITY:
        return _back(error="unauthorized")
    answer = _back()
    answer.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", path="/desk")
    return answer


@router.post("/sign-out")
def sign_out() -> Response:
    answer = _back()
    answer.delete_cookie(COOKIE, path="/desk")
    return answer


@router.post("/block")
def block(
    request: Request,
    service: ServiceDep,
    now: Now,
    key_index: Annotated[KeyIndex, Form()],
    serial: Annotated[Serial, Form()],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    last_serial: Annotated[Serial | None, Form()] = None,
    back: Back = "/desk",
) -> Response:
    """Block a serial (or the range up to ``last_serial``, a whole batch) as copied: it is in
    the next status list, so offline scanners catch it too."""
    return _act(
        request, service, now, back, f"#serial-{key_index}-{serial}",
        lambda session, actor: registry.block_serials(
            session, actor, key_index, serial, last_serial or serial, reason, now
        ),
    )  # fmt: skip


@router.post("/blocks/{block_id}/lift")
def lift_block(
    request: Request,
    service: ServiceDep,
    now: Now,
    block_id: RowId,
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Lift a block put by mistake or cleared by an investigation; audited."""
    return _act(
        request, service, now, back, "#summary",
        lambda session, actor: registry.lift_block(session, actor, block_id, reason, now),
    )  # fmt: skip


@router.post("/serials/{key_index}/{serial}/clear")
def clear_pattern(
    request: Request,
    service: ServiceDep,
    now: Now,
    key_index: KeyIndex,
    serial: Serial,
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Clear a serial's clone flag once an investigation found the stamp genuine: only checks
    made from now on count; audited."""
    return _act(
        request, service, now, back, "#summary",
        lambda session, actor: registry.clear_scan_pattern(
            session, actor, (key_index, serial), reason, now,
            forget=service.recorder.clear_pattern,
        ),
    )  # fmt: skip


@router.post("/batches/{batch_id}/void")
def void_batch(
    request: Request,
    service: ServiceDep,
    now: Now,
    batch_id: RowId,
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Void a batch: its stamps become unregistered everywhere."""
    return _act(
        request, service, now, back, f"#batch-{batch_id}",
        lambda session, actor: registry.void_batch(session, actor, batch_id, reason, now),
    )  # fmt: skip


@router.post("/certificates/{certificate_id}/revoke")
def revoke_certificate(
    request: Request,
    service: ServiceDep,
    now: Now,
    certificate_id: RowId,
    decision: Annotated[str, Form(min_length=3, max_length=64)],
    decision_date: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    back: Back = "/desk",
) -> Response:
    """Revoke a recognition by decision: all its stamps show "revoked", online and offline.
    The decision date is written dd/mm/yyyy, as on the decision."""
    try:
        decided = datetime.strptime(decision_date.strip(), "%d/%m/%Y").date()
    except ValueError:
        return _back(error="date", page=back)
    return _act(
        request, service, now, back, f"#certificate-{certificate_id}",
        lambda session, actor: registry.revoke_certificate(
            session, actor, certificate_id, decision, decided, reason, now
        ),
    )  # fmt: skip


def _act(
    request: Request,
    service: Service,
    now: datetime,
    back: str,
    anchor: str,
    action: Callable[[Session, Actor], object],
) -> Response:
    """Run one desk action in a write transaction (audited by the registry) and go back to
    the page it came from, with the refusal's reason or the error's code if it failed
    (nothing is changed then)."""
    actor = _actor(service, request)
    if actor is None:
        return _back(error="unauthorized")
    try:
        with service.write(now) as session:
            action(session, actor)
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
    error: str = "",
) -> Response:
    """One serial's file: its scans, the places they came from, its batch and certificate,
    and the actions on them."""
    actor = _actor(service, request)
    if actor is None:
        return _back(error="unauthorized")
    try:
        with service.sessions() as session:
            file = findings.serial_file(session, actor, key_index, serial, language)
    except ServiceError as exc:
        return _back(error=exc.code)
    context = {
        "actor": actor, "file": file, "error": error[:40],
        "refusals": _refusals(service, language),
        "patterns": worded(SCAN_PATTERNS, language),
        "place": lambda location: findings.place_label(location, language),
        "back": f"/desk/serials/{key_index}/{serial}", "today": vietnam_date(now),
        "verdict_names": {code.value: CONSUMER[code][language][0] for code in CONSUMER},
        "roles": ROLE_NAMES[language], "statuses": CERTIFICATE_STATES[language],
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
    request: Request, service: ServiceDep, report_id: RowId, number: Count
) -> Response:
    """A photo of an inspector report (the authority's desk only)."""
    actor = _actor(service, request)
    if actor is None:
        raise Unauthorized("sign in at /desk")
    with service.sessions() as session:
        report = registry.desk_report(session, actor, report_id)
        if not 0 <= number < len(report.photos):
            raise NotFound("photo of report", number)
        photo = report.photos[number]
        return Response(photo.data, media_type=photo.media_type,
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


@router.post("/reports/{report_id}")
def follow_up(
    request: Request,
    service: ServiceDep,
    now: Now,
    report_id: RowId,
    status: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _act(
        request, service, now, "/desk", f"#report-{report_id}",
        lambda session, actor: registry.update_report(
            session, actor, report_id, status, note, now
        ),
    )  # fmt: skip
