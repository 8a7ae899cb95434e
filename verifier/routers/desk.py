"""The authority's desk: serials whose scans look copied, inspector reports to follow up,
recognitions expiring soon, and the actions on them (each one lands in the audit log).
Server-rendered, no JavaScript; the token is kept in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signing._dates import vietnam_date
from verifier import registry
from verifier.deps import LanguageDep, Now, ServiceDep
from verifier.errors import ServiceError
from verifier.messages import SCAN_PATTERNS
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


def _back(anchor: str = "", error: str = "") -> RedirectResponse:
    query = f"?error={error}" if error else ""
    return RedirectResponse(f"/desk{query}{anchor}", status_code=303)


@router.get("", response_class=HTMLResponse)
def desk(
    request: Request, service: ServiceDep, language: LanguageDep, now: Now, error: str = ""
) -> HTMLResponse:
    actor = _actor(service, request)
    if actor is None:
        return render(request, "desk.html", language, {"actor": None, "error": error[:40]})
    today = vietnam_date(now)
    with service.sessions() as session:
        flagged = registry.flagged_serials(session, actor)
        reports = registry.desk_reports(session, actor)
        expiring = registry.expiring_certificates(session, actor, today)
        context = {
            "actor": actor, "flagged": flagged, "reports": reports, "expiring": expiring,
            "patterns": {k: v[language] for k, v in SCAN_PATTERNS.items()},
            "error": error[:40],
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
    key_index: Annotated[int, Form(ge=0, le=0xFFFF)],
    serial: Annotated[int, Form(ge=1, lt=2**48)],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
) -> Response:
    """Block one serial as copied: it is in the next status list, so offline scanners catch
    it too."""
    actor = _actor(service, request)
    if actor is None:
        return _back(error="unauthorized")
    try:
        with service.write(now) as session:
            registry.block_serials(session, actor, key_index, serial, serial, reason, now)
    except ServiceError as exc:
        return _back(error=exc.code)
    return _back(f"#serial-{key_index}-{serial}")


@router.post("/reports/{report_id}")
def follow_up(
    request: Request,
    service: ServiceDep,
    now: Now,
    report_id: int,
    status: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    actor = _actor(service, request)
    if actor is None:
        return _back(error="unauthorized")
    try:
        with service.write(now) as session:
            registry.update_report(session, actor, report_id, status, note, now)
    except ServiceError as exc:
        return _back(error=exc.code)
    return _back(f"#report-{report_id}")
