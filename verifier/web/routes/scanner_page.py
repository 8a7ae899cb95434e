"""The scanner page for phones, and its service worker."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from verifier.i18n.messages import scanner_texts
from verifier.web.deps import LanguageDep, ServiceDep
from verifier.web.routes.consumer_pages import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent.parent / "static"


@router.get("/scan", response_class=HTMLResponse)
def scan(request: Request, service: ServiceDep, language: LanguageDep) -> HTMLResponse:
    config = {
        "lang": language,
        "root_keys": [service.root.public_key.hex()],
        "max_list_age_hours": service.settings.scanner_list_age_hours,
        "texts": scanner_texts(language),
    }
    return render(request, "scan.html", language, {"config": config})


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """The service worker, served from the root so that it may control /scan."""
    return FileResponse(
        STATIC / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
