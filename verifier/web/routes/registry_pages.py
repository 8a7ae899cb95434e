"""The public registry: search, ended recognitions and province figures, each as a page, as
JSON and as CSV (UTF-8 with a byte order mark, so that spreadsheet programs read Vietnamese;
every text cell quoted, and one that would start a formula prefixed with a single quote)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from signing.dates import vietnam_date
from stamps.spreadsheet import csv_text
from verifier.i18n.messages import CERTIFICATE_STATES, PRODUCT_GROUPS, worded
from verifier.lists import search
from verifier.lists.registry_index import PublicCertificate, RegistryIndex
from verifier.provinces import PROVINCES
from verifier.service import Service
from verifier.web.deps import Count, LanguageDep, Now, ServiceDep
from verifier.web.inputs import Line
from verifier.web.routes.consumer_pages import render

router = APIRouter(tags=["public registry"])
PAGE_SIZE = 50

Status = Literal["active", "expired", "revoked", "superseded"]
Group = Literal["food", "beverage", "herbal", "handicraft", "ornamental", "tourism_service"]


class FilterQuery(BaseModel):
    """Search parameters, validated (the JSON and CSV searches)."""

    q: Line = Field("", max_length=100)
    province: str | None = Field(None, pattern=r"^[0-9]{2}$")
    group: Group | None = None
    stars: int | None = Field(None, ge=3, le=5)
    status: Status | None = None

    def filters(self) -> search.Filters:
        return search.Filters(self.q.strip(), self.province, self.group, self.stars, self.status)


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    """Return ``rows`` as a CSV download (no formula cells: see :func:`csv_text`)."""
    return Response(
        "\ufeff" + csv_text(list(rows[0]) if rows else [], rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _provinces(index: RegistryIndex) -> dict[str, str]:
    """Province code -> its name (the provincial authority's, for a code not in the list)."""
    names = {
        c.producer.province_code: c.issuer_name
        for c in index.certificates.values()
        if c.issuer != "VN-TW"
    }
    return names | {code: p.name for code, p in PROVINCES.items()}


def _search(
    service: Service, now: datetime, filters: search.Filters
) -> tuple[RegistryIndex, list[PublicCertificate]]:
    index = service.lists(now).index
    return index, search.search(index, filters, vietnam_date(now))


@router.get("/registry", response_class=HTMLResponse, include_in_schema=False)
def registry_page(
    request: Request,
    service: ServiceDep,
    now: Now,
    language: LanguageDep,
    q: Annotated[Line, Query(max_length=100)] = "",
    province: Annotated[Line, Query(max_length=2)] = "",
    group: Annotated[Line, Query(max_length=20)] = "",
    stars: Annotated[Line, Query(max_length=1)] = "",
    status: Annotated[Line, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    filters = search.Filters(
        q.strip(),
        province if province.isdigit() else None,
        group if group in PRODUCT_GROUPS else None,
        int(stars) if stars in ("3", "4", "5") else None,
        status if status in search.STATES else None,
    )
    index, found = _search(service, now, filters)
    start = (page - 1) * PAGE_SIZE
    today = vietnam_date(now)
    return render(request, "registry.html", language, {
        "filters": filters, "found": found[start : start + PAGE_SIZE], "total": len(found),
        "page": page, "pages": max(1, -(-len(found) // PAGE_SIZE)),
        "provinces": _provinces(index), "groups": worded(PRODUCT_GROUPS, language), "today": today,
        "status_of": lambda c: search.effective_status(c, today),
        "statuses": worded(CERTIFICATE_STATES, language),
        "query": request.url.query,
    })  # fmt: skip


@router.get("/api/v1/registry/certificates", summary="Search the certified products")
def registry_json(
    service: ServiceDep,
    now: Now,
    query: Annotated[FilterQuery, Query()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[Count, Query()] = 0,
) -> dict[str, Any]:
    _, found = _search(service, now, query.filters())
    today = vietnam_date(now)
    rows = [search.certificate_row(c, today) for c in found[offset : offset + limit]]
    return {"total": len(found), "offset": offset, "certificates": rows}


@router.get("/api/v1/registry/certificates.csv", summary="Search the certified products (CSV)")
def registry_csv(
    service: ServiceDep,
    now: Now,
    query: Annotated[FilterQuery, Query()],
) -> Response:
    _, found = _search(service, now, query.filters())
    today = vietnam_date(now)
    return _csv([search.certificate_row(c, today) for c in found], "ocop-registry")


@router.get("/registry/ended", response_class=HTMLResponse, include_in_schema=False)
def ended_page(
    request: Request, service: ServiceDep, now: Now, language: LanguageDep
) -> HTMLResponse:
    index = service.lists(now).index
    today = vietnam_date(now)
    return render(request, "ended.html", language, {
        "ended": search.ended(index, today), "provinces": _provinces(index),
        "status_of": lambda c: search.effective_status(c, today),
    })  # fmt: skip


@router.get("/api/v1/registry/ended", summary="Recognitions that expired or were revoked")
def ended_json(service: ServiceDep, now: Now) -> dict[str, Any]:
    today = vietnam_date(now)
    ended = search.ended(service.lists(now).index, today)
    return {"certificates": [search.certificate_row(c, today) for c in ended]}


@router.get("/api/v1/registry/ended.csv", summary="Recognitions that expired or were revoked (CSV)")
def ended_csv(service: ServiceDep, now: Now) -> Response:
    today = vietnam_date(now)
    ended = search.ended(service.lists(now).index, today)
    return _csv([search.certificate_row(c, today) for c in ended], "ocop-ended")


@router.get("/registry/provinces", response_class=HTMLResponse, include_in_schema=False)
def provinces_page(
    request: Request, service: ServiceDep, now: Now, language: LanguageDep
) -> HTMLResponse:
    index = service.lists(now).index
    figures = search.province_figures(index, vietnam_date(now))
    return render(request, "provinces.html", language, {
        "figures": figures, "provinces": _provinces(index), "days": search.EXPIRING_DAYS,
    })  # fmt: skip


@router.get("/api/v1/registry/provinces", summary="Certified products per province")
def provinces_json(service: ServiceDep, now: Now) -> dict[str, Any]:
    figures = search.province_figures(service.lists(now).index, vietnam_date(now))
    return {"expiring_within_days": search.EXPIRING_DAYS, "provinces": figures}


@router.get("/api/v1/registry/provinces.csv", summary="Certified products per province (CSV)")
def provinces_csv(service: ServiceDep, now: Now) -> Response:
    figures = search.province_figures(service.lists(now).index, vietnam_date(now))
    return _csv(figures, "ocop-provinces")
